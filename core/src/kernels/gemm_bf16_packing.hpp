// Packing for the AVX512-BF16 GEMM (internal to core/src/kernels/gemm_bf16.cpp): float32
// operands rounded to bfloat16 (float_to_bfloat16's rule, by VCVTNE2PS2BF16), or bfloat16
// operands (their bits, std::uint16_t) taken as they are, laid out as the pairs VDPBF16PS
// multiplies. Every packer is a template over the source element; only the two loaders differ.
// A 32-bit word holds two bfloat16 of consecutive k, k even in the low half:
//   B (all of it, once per call): sliver s of 32 columns, pair p, column j at b[(s·Kp + p)·32 + j];
//   A (per MC × KC block) stored [M, K]: row i, pair p at a[i·kcp + p] (a row along k is
//     already pairs); stored [K, M]: pair p of all the block's rows together, at
//     a[p·stride + i] (two storage rows interleave into it) - either way the micro-kernel
//     broadcasts one word per row and pair.
// When the stored matrix runs along k (A stored [M, K], B stored [N, K]) a row of it rounds to
// consecutive pairs directly; when it runs across k (A stored [K, M], B stored [K, N]) two rows
// of it interleave into one row of pairs across 32 rows or columns (two VPERMT2W). Only B stored
// [N, K] needs the other orientation: it gets it from a 16 × 16 transpose of 32-bit words in
// registers (64 shuffles per 256 words; the scattered stores this replaced cost about one cycle
// per word).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "sf/core/kernels/gemm.hpp"

#define SF_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

namespace sf::kernels::bf16_packing {

constexpr std::int64_t NR = 32;  // columns of a B sliver (two vectors of 16 words)
constexpr std::int64_t MR = 14;  // rows of a C tile (28 of the 32 zmm registers accumulate)

// Rows of the next tile of a block when `remaining` rows are left: MR, except that a last tile
// of fewer than 6 rows is not left alone: its 2 · rows accumulator chains are too few to hide
// the dot product's latency (a 2-row tile runs at about a third of a full one's rate per row),
// so the last two tiles share MR + remainder rows (128 = 8 · 14 + 8 + 8, not 9 · 14 + 2).
inline std::int64_t tile_height(std::int64_t remaining) {
  if (remaining <= MR) return remaining;
  return remaining < MR + 6 ? (remaining + 1) / 2 : MR;
}

// Asks for `bytes` from `first` to be brought to L1: the rows of an operand often lie a multiple
// of 4 KiB apart, where the hardware prefetchers do not follow from one row to the next.
inline void prefetch_bytes(const void* first, std::int64_t bytes) {
  for (std::int64_t byte = 0; byte < bytes; byte += 64)
    _mm_prefetch(static_cast<const char*>(first) + byte, _MM_HINT_T0);
}

SF_BF16_TARGET inline __mmask16 first_lanes(std::int64_t count) {
  return static_cast<__mmask16>(count >= 16 ? 0xffff : count <= 0 ? 0 : (1u << count) - 1u);
}

SF_BF16_TARGET inline __m512 load_floats(const float* source, std::int64_t count) {
  return _mm512_maskz_loadu_ps(first_lanes(count), source);
}

// VCVTNE2PS2BF16 rounds 32 floats at once by float_to_bfloat16's rule (to nearest even, NaN made
// quiet, subnormals to ±0), the second operand's 16 into the low half of the result.

// `count` (0..32, more is 32) consecutive floats of a row along k as 16 pairs, zero padded.
SF_BF16_TARGET inline __m512i round_to_pairs(const float* source, std::int64_t count) {
  return (__m512i)_mm512_cvtne2ps_pbh(load_floats(source + 16, count - 16), load_floats(source, count));
}

// The same from bfloat16 bits: the pairs are already there (zero past `count` values).
SF_BF16_TARGET inline __m512i round_to_pairs(const std::uint16_t* source, std::int64_t count) {
  const __mmask32 lanes = count >= 32 ? ~__mmask32{0} : count <= 0 ? 0 : (__mmask32{1} << count) - 1u;
  return _mm512_maskz_loadu_epi16(lanes, source);
}

// Two rows across k (k and k + 1; `has_second` false past the end), `count` values each (up to
// 32), as 32 pairs: word j = (first[j], second[j]) at out[j], zero past `count`. Each row is
// rounded (or loaded) as 32 bfloat16 by round_to_pairs, then one VPERMT2W per 16 words takes
// word j's halves from the two rows.
template <class Source>
SF_BF16_TARGET inline void interleave_rows(const Source* first, const Source* second, bool has_second,
                                           std::int64_t count, std::uint32_t* out) {
  const __m512i low_words = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6,
                                             37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
  const __m512i high_words = _mm512_add_epi16(low_words, _mm512_set1_epi16(16));
  const __m512i row_k = round_to_pairs(first, count);
  const __m512i row_k1 = has_second ? round_to_pairs(second, count) : _mm512_setzero_si512();
  _mm512_storeu_si512(out, _mm512_permutex2var_epi16(row_k, low_words, row_k1));
  _mm512_storeu_si512(out + 16, _mm512_permutex2var_epi16(row_k, high_words, row_k1));
}

// rows[r] lane c  ->  rows[c] lane r, for 16 vectors of 16 32-bit words. Stage 1 and 2 gather,
// in each 128-bit lane L of vector 4q + m, element 4L + m of rows 4q..4q+3; stages 3 and 4 bring
// the four groups of a column together.
SF_BF16_TARGET inline void transpose_16x16(__m512i* rows) {
  __m512i pairs[16];
  for (int r = 0; r < 16; r += 2) {
    pairs[r] = _mm512_unpacklo_epi32(rows[r], rows[r + 1]);
    pairs[r + 1] = _mm512_unpackhi_epi32(rows[r], rows[r + 1]);
  }
  __m512i quads[16];  // quads[4q + m]: lane L holds element 4L + m of rows 4q..4q+3
  for (int q = 0; q < 16; q += 4) {
    quads[q] = _mm512_unpacklo_epi64(pairs[q], pairs[q + 2]);
    quads[q + 1] = _mm512_unpackhi_epi64(pairs[q], pairs[q + 2]);
    quads[q + 2] = _mm512_unpacklo_epi64(pairs[q + 1], pairs[q + 3]);
    quads[q + 3] = _mm512_unpackhi_epi64(pairs[q + 1], pairs[q + 3]);
  }
  for (int m = 0; m < 4; ++m) {
    const __m512i even_low = _mm512_shuffle_i32x4(quads[m], quads[4 + m], 0x88);  // lanes 0, 2 of rows 0-7
    const __m512i odd_low = _mm512_shuffle_i32x4(quads[m], quads[4 + m], 0xdd);   // lanes 1, 3
    const __m512i even_high = _mm512_shuffle_i32x4(quads[8 + m], quads[12 + m], 0x88);
    const __m512i odd_high = _mm512_shuffle_i32x4(quads[8 + m], quads[12 + m], 0xdd);
    rows[m] = _mm512_shuffle_i32x4(even_low, even_high, 0x88);
    rows[4 + m] = _mm512_shuffle_i32x4(odd_low, odd_high, 0x88);
    rows[8 + m] = _mm512_shuffle_i32x4(even_low, even_high, 0xdd);
    rows[12 + m] = _mm512_shuffle_i32x4(odd_low, odd_high, 0xdd);
  }
}

// A row of `depth` floats along k as `pair_count` pairs (k even in the low half), zero padded.
template <class Source>
SF_BF16_TARGET inline void round_row_to_pairs(const Source* row, std::int64_t depth, std::int64_t pair_count,
                                              std::uint32_t* out) {
  for (std::int64_t pair = 0; pair < pair_count; pair += 16)
    _mm512_mask_storeu_epi32(out + pair, first_lanes(pair_count - pair), round_to_pairs(row + 2 * pair, depth - 2 * pair));
}

// Packs sliver `sliver` (32 columns) of op(B) [K, N] into packed + sliver·padded_pairs·32, its
// pairs from (K + 1) / 2 up to padded_pairs zero (the AMX path's whole tiles; the other path
// pads nothing).
template <class Source>
SF_BF16_TARGET inline void pack_b_sliver(Transpose transpose, const Source* B, std::int64_t ldb, std::int64_t K,
                                         std::int64_t N, std::int64_t sliver, std::int64_t padded_pairs,
                                         std::uint32_t* packed) {
  const std::int64_t pairs = (K + 1) / 2;
  std::uint32_t* out = packed + sliver * padded_pairs * NR;
  std::memset(out + pairs * NR, 0, static_cast<std::size_t>((padded_pairs - pairs) * NR) * sizeof(std::uint32_t));
  const std::int64_t column0 = sliver * NR, columns = std::min(NR, N - column0);
  if (transpose == Transpose::No) {  // B stored [K, N]: rows 2p and 2p + 1 interleave
    for (std::int64_t pair = 0; pair < pairs; ++pair) {
      const Source* row = B + 2 * pair * ldb + column0;
      interleave_rows(row, row + ldb, 2 * pair + 1 < K, columns, out + pair * NR);
    }
    return;
  }
  // B stored [N, K]: column j of op(B) is a row along k. 16 columns × 16 pairs at a time, transposed.
  for (std::int64_t half = 0; half < NR; half += 16) {
    for (std::int64_t pair0 = 0; pair0 < pairs; pair0 += 16) {
      __m512i words[16];
      for (std::int64_t j = 0; j < 16; ++j)
        words[j] = half + j < columns ? round_to_pairs(B + (column0 + half + j) * ldb + 2 * pair0, K - 2 * pair0)
                                      : _mm512_setzero_si512();
      transpose_16x16(words);
      for (std::int64_t pair = 0; pair < std::min<std::int64_t>(16, pairs - pair0); ++pair)
        _mm512_storeu_si512(out + (pair0 + pair) * NR + half, words[pair]);
    }
  }
}

// Words per pair of a transposed A's packed block of `rows` rows (whole 32-word groups).
inline std::int64_t transposed_a_stride(std::int64_t rows) { return (rows + 31) / 32 * 32; }

// Packs rows [row0, row0 + rows) × pairs [pair0, pair0 + kcp) of op(A): stored [M, K], row i,
// pair p at packed[i·kcp + p]; stored [K, M], at packed[p·transposed_a_stride(rows) + i].
template <class Source>
SF_BF16_TARGET inline void pack_a(Transpose transpose, const Source* A, std::int64_t lda, std::int64_t K,
                                  std::int64_t row0, std::int64_t rows, std::int64_t pair0, std::int64_t kcp,
                                  std::uint32_t* packed) {
  const std::int64_t k0 = 2 * pair0, depth = std::min(2 * kcp, K - k0);
  if (transpose == Transpose::No) {  // A stored [M, K]: rows along k
    const std::int64_t row_bytes = depth * static_cast<std::int64_t>(sizeof(Source));
    for (std::int64_t i = 0; i < rows; ++i) {
      if (i + 4 < rows) prefetch_bytes(A + (row0 + i + 4) * lda + k0, row_bytes);  // four rows ahead
      round_row_to_pairs(A + (row0 + i) * lda + k0, depth, kcp, packed + i * kcp);
    }
    return;
  }
  // A stored [K, M]: storage rows 2p and 2p + 1, read front to back, interleave into one line of
  // pairs for all rows of the block.
  const std::int64_t stride = transposed_a_stride(rows);
  for (std::int64_t pair = 0; pair < kcp; ++pair) {
    const std::int64_t k = k0 + 2 * pair;
    const Source* first = A + k * lda + row0;
    if (k + 9 < K) {  // the storage rows of four pairs ahead (rows lda apart, often 4 KiB multiples)
      prefetch_bytes(first + 8 * lda, rows * static_cast<std::int64_t>(sizeof(Source)));
      prefetch_bytes(first + 9 * lda, rows * static_cast<std::int64_t>(sizeof(Source)));
    }
    for (std::int64_t i = 0; i < rows; i += 32)
      interleave_rows(first + i, first + i + lda, k + 1 < K, rows - i, packed + pair * stride + i);
  }
}

}  // namespace sf::kernels::bf16_packing
