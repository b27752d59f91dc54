// Packing for the GEMM (internal to core/src/kernels): copies a block of op(A) or op(B) into
// the order the micro-kernel reads it, so the kernel walks memory contiguously.
//
//   source: element (w, k) of the block at source[w · w_stride + k · k_stride],
//           w < width, k < depth, where one of the two strides is 1:
//             w_stride == 1 - each k step of a sliver is a contiguous copy
//                             (A stored [K, M] (transposed), B stored [K, N]);
//             k_stride == 1 - each sliver is a transpose of W rows
//                             (A stored [M, K], B stored [N, K] (transposed)).
//   packed: slivers of W rows (W = MR for A, NR for B); sliver s starts at packed + s·W·depth
//           and holds element (s·W + w, k) at [k·W + w]. Rows past `width` are zero, so the
//           micro-kernel always reads full slivers.
//
// A transposed operand only changes which of the two routines below packs it; no transposed
// copy of a whole matrix is ever made.
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>

namespace sf::kernels::gemm_detail {

// In-register transpose of a lanes × lanes block: rows[r] lane c  ->  rows[c] lane r.
// A butterfly over the bits of the index: at distance d, rows r and r + d (bit d of r clear)
// swap their d-wide lane blocks where the row bit and the lane bit differ, i.e. element (r, c)
// with bit d set in c and clear in r moves to (r + d, c − d) and back. After every bit d = 1, 2,
// 4, ... has been swapped, (r, c) sits at (c, r). Each swap is two swizzles and two selects with
// compile-time masks (vpermps + vblendmps on AVX-512).
template <std::size_t distance>
struct LaneFromLower {  // lane i takes lane i − d where bit d of i is set
  static constexpr std::size_t get(std::size_t lane, std::size_t) { return lane & distance ? lane - distance : lane; }
};
template <std::size_t distance>
struct LaneFromUpper {  // lane i takes lane i + d where bit d of i is clear
  static constexpr std::size_t get(std::size_t lane, std::size_t) { return lane & distance ? lane : lane + distance; }
};
template <std::size_t distance>
struct LaneBitSet {
  static constexpr bool get(std::size_t lane, std::size_t) { return (lane & distance) != 0; }
};

template <class T, std::size_t distance>
[[gnu::always_inline]] inline void transpose_stage(xsimd::batch<T>* rows) {
  using Batch = xsimd::batch<T>;
  using Index = xsimd::batch<std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;
  constexpr auto from_lower = xsimd::make_batch_constant<Index, LaneFromLower<distance>>();
  constexpr auto from_upper = xsimd::make_batch_constant<Index, LaneFromUpper<distance>>();
  constexpr auto bit_set = xsimd::make_batch_bool_constant<Batch, LaneBitSet<distance>>();
  constexpr std::size_t lanes = Batch::size;
#pragma GCC unroll 16
  for (std::size_t row = 0; row < lanes; ++row) {
    if (row & distance) continue;
    const Batch lower = rows[row], upper = rows[row + distance];
    rows[row] = xsimd::select(bit_set, xsimd::swizzle(upper, from_lower), lower);
    rows[row + distance] = xsimd::select(bit_set, upper, xsimd::swizzle(lower, from_upper));
  }
  if constexpr (distance > 1) transpose_stage<T, distance / 2>(rows);
}

template <class T>
[[gnu::always_inline]] inline void transpose_in_registers(xsimd::batch<T>* rows) {
  transpose_stage<T, xsimd::batch<T>::size / 2>(rows);
}

// One sliver made of `valid` ≤ W rows that are contiguous along k (k_stride == 1): a transpose.
// Per block of `lanes` k steps and group of `lanes` rows: one vector load per row, an in-register
// transpose, one vector store per k step. A group narrower than `lanes` (the last of W = MR)
// stores full vectors anyway: the extra lanes land at the start of the next k step's row,
// which the groups before it (processed later, groups run last to first) overwrite; only the
// very last k step of the sliver stores exactly.
template <class T, std::int64_t W>
inline void pack_sliver_transpose(const T* source, std::int64_t w_stride, std::int64_t valid, std::int64_t depth,
                                  T* packed) {
  using Batch = xsimd::batch<T>;
  constexpr std::int64_t lanes = static_cast<std::int64_t>(Batch::size);
  constexpr std::int64_t groups = (W + lanes - 1) / lanes;
  std::int64_t k = 0;
  for (; k + lanes <= depth; k += lanes) {
    for (std::int64_t group = groups - 1; group >= 0; --group) {
      const std::int64_t first = group * lanes;
      const std::int64_t width = std::min(lanes, W - first);  // lanes of this group inside the sliver
      Batch rows[lanes];
#pragma GCC unroll 16
      for (std::int64_t row = 0; row < lanes; ++row)
        rows[row] = first + row < valid ? Batch::load_unaligned(source + (first + row) * w_stride + k) : Batch(T(0));
      transpose_in_registers<T>(rows);
#pragma GCC unroll 16
      for (std::int64_t step = 0; step < lanes; ++step) {
        T* destination = packed + (k + step) * W + first;
        if (width == lanes || k + step + 1 < depth) {
          rows[step].store_unaligned(destination);
        } else {
          alignas(64) T lanes_buffer[lanes];
          rows[step].store_aligned(lanes_buffer);
          std::memcpy(destination, lanes_buffer, static_cast<std::size_t>(width) * sizeof(T));
        }
      }
    }
  }
  for (; k < depth; ++k) {
    for (std::int64_t w = 0; w < valid; ++w) packed[k * W + w] = source[w * w_stride + k];
    for (std::int64_t w = valid; w < W; ++w) packed[k * W + w] = T(0);
  }
}

// A block whose k steps are contiguous runs (w_stride == 1). The slivers are copied in groups
// whose rows span whole 64-byte lines (1 sliver of NR = 32 floats, 8 slivers of MR = 14 floats),
// k step by k step within a group: each source line is then read once, even when W is not a
// multiple of a line and the row stride is a large power of two (rows in the same cache set),
// while the writes stay within a few slivers.
inline constexpr std::int64_t copy_prefetch_rows = 8;

template <class T, std::int64_t W>
void pack_block_copy(const T* source, std::int64_t k_stride, std::int64_t width, std::int64_t depth, T* packed) {
  constexpr std::int64_t row_bytes = W * static_cast<std::int64_t>(sizeof(T));
  constexpr std::int64_t group = 64 / std::gcd(row_bytes, std::int64_t{64});
  for (std::int64_t group_first = 0; group_first < width; group_first += group * W) {
    const std::int64_t group_end = std::min(width, group_first + group * W);
    for (std::int64_t k = 0; k < depth; ++k) {
      const T* row = source + k * k_stride;
      // Rows far apart in memory defeat the hardware prefetcher: ask for the row 8 steps ahead.
      for (std::int64_t line = group_first; line < group_end; line += 64 / static_cast<std::int64_t>(sizeof(T)))
        __builtin_prefetch(row + copy_prefetch_rows * k_stride + line);
      for (std::int64_t first = group_first; first < group_end; first += W) {
        T* destination = packed + first * depth + k * W;  // sliver first / W, step k
        const std::int64_t valid = std::min(W, width - first);
        if (valid == W) {
          std::memcpy(destination, row + first, W * sizeof(T));
        } else {
          std::memcpy(destination, row + first, static_cast<std::size_t>(valid) * sizeof(T));
          std::fill(destination + valid, destination + W, T(0));
        }
      }
    }
  }
}

// The whole block: width rows of depth elements into ceil(width / W) slivers.
template <class T, std::int64_t W>
void pack_block(const T* source, std::int64_t w_stride, std::int64_t k_stride, std::int64_t width, std::int64_t depth,
                T* packed) {
  if (w_stride == 1) {
    pack_block_copy<T, W>(source, k_stride, width, depth, packed);
    return;
  }
  for (std::int64_t first = 0; first < width; first += W)
    pack_sliver_transpose<T, W>(source + first * w_stride, w_stride, std::min(W, width - first), depth,
                                packed + first * depth);
}

}  // namespace sf::kernels::gemm_detail
