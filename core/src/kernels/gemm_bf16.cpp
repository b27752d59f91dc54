// The bfloat16 GEMM (kernels/gemm_bf16.hpp for the math and the paths; docs/gemm_bf16.md for how
// it was measured against oneDNN). The path is chosen in gemm_bf16_paths.cpp; this file packs B
// and plans the tasks for both fast paths, and holds the AVX512-BF16 one (the AMX one's blocks
// are in gemm_bf16_amx.cpp).
//
// AVX512-BF16 path, BLIS-like but with pairs: VDPBF16PS works on 32-bit lanes that each hold two
// bfloat16 of consecutive k, so both operands are packed as pairs (k even in the low half;
// gemm_bf16_packing.hpp rounds and lays them out):
//   B (all of it, once per call): sliver s of 32 columns, pair p, column j at b[(s·Kp + p)·32 + j]
//     - one k-pair step of the micro-kernel loads 2 vectors (32 columns);
//   A (per MC × KC block, per task): row i, pair p at a[i·kcp + p] - one broadcast per row.
// The micro-kernel keeps a 14 × 32 float32 tile in 28 zmm accumulators over the KC slice, then
// C = alpha · tile + beta · C (the first slice uses the caller's beta, later ones add), like the
// float32 kernel; with a bias (gemm_bfloat16_with_bias) the first slice writes
// fma(alpha, tile, bias) instead, without reading C. Tasks own disjoint blocks of C, so any
// thread count gives the same bits.
#include "sf/core/kernels/gemm_bf16.hpp"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <type_traits>
#include <cstring>
#include <utility>
#include <vector>

#include "gemm_bf16_amx.hpp"
#include "gemm_bf16_packing.hpp"
#include "gemm_internal.hpp"
#include "gemm_split_k.hpp"
#include "sf/core/error.hpp"
#include "sf/core/parallel.hpp"

namespace sf::kernels {

namespace {

using gemm_detail::SharedBufferLease;

// This thread's buffers: packed A blocks and the packed B of a GEMM run serially inside a batched
// task are the float32 GEMM's (gemm_detail::scratch_a / scratch_b: no task of either GEMM
// waits while holding them, so they are never in use twice on one thread); a parallel GEMM's
// packed B is shared by its tasks and leased instead (gemm_internal.hpp).
using gemm_detail::scratch_a;
using bf16_packing::pack_a;
using bf16_packing::pack_b_sliver;

using bf16_packing::tile_height;
constexpr std::int64_t MR = bf16_packing::MR, NR = bf16_packing::NR;
constexpr std::int64_t KC = 512;             // k values per slice (a multiple of 2)
constexpr std::int64_t MC = 252;             // rows of A per block (a multiple of MR)
constexpr std::int64_t N_CHUNK = 16 * NR;    // at most this many columns of C per task

// Packs all of op(B), sliver by sliver, in parallel.
template <class Source>
void pack_b(Transpose transpose, const Source* B, std::int64_t ldb, std::int64_t K, std::int64_t N,
            std::int64_t padded_pairs, std::uint32_t* packed) {
  const std::int64_t slivers = (N + NR - 1) / NR;
  parallel::parallel_for(0, slivers, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t sliver = first; sliver < last; ++sliver)
      pack_b_sliver(transpose, B, ldb, K, N, sliver, padded_pairs, packed);
  });
}

// A's pairs as the micro-kernel reads them: from a packed block, or in place from a bfloat16
// matrix (std::uint16_t storage, so each word is read with memcpy: one load, no aliasing rule
// broken).
using PairWord = std::uint32_t;
inline int load_pair(const PairWord* pair) {
  int word;
  std::memcpy(&word, pair, sizeof(word));
  return word;
}

// C tile [rows, 32] = alpha · Σ_p a-pairs · b-pairs + beta · C tile (beta == 0 never reads C), or
// with a bias (32 values; beta is then 0) alpha · Σ + bias, fma(alpha, Σ, bias): the bits of
// writing the bias into C and running with beta = 1 (1 · c is exact).
// A's pair p of row r is a[r · a_step + p] (packed or in place, A stored [M, K]) or, with
// `pair_major` (a transposed A's packed block), a[p · a_step + r].
template <int rows, bool pair_major>
SF_BF16_TARGET void micro_kernel(std::int64_t kcp, const PairWord* a, std::int64_t a_step,
                                 const std::uint32_t* b, float alpha, float beta, const float* bias, float* c,
                                 std::int64_t ldc) {
  __m512 left[rows], right[rows];
#pragma GCC unroll 16
  for (int row = 0; row < rows; ++row) left[row] = right[row] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (std::int64_t pair = 0; pair < kcp; ++pair) {
    const __m512bh b_left = (__m512bh)_mm512_loadu_si512(b + pair * NR);
    const __m512bh b_right = (__m512bh)_mm512_loadu_si512(b + pair * NR + 16);
#pragma GCC unroll 16
    for (int row = 0; row < rows; ++row) {
      const PairWord* word = pair_major ? a + pair * a_step + row : a + row * a_step + pair;
      const __m512bh a_pair = (__m512bh)_mm512_set1_epi32(load_pair(word));
      left[row] = _mm512_dpbf16_ps(left[row], a_pair, b_left);
      right[row] = _mm512_dpbf16_ps(right[row], a_pair, b_right);
    }
  }
  const __m512 alpha_vector = _mm512_set1_ps(alpha), beta_vector = _mm512_set1_ps(beta);
  if (bias != nullptr) {
    const __m512 bias_left = _mm512_loadu_ps(bias), bias_right = _mm512_loadu_ps(bias + 16);
#pragma GCC unroll 16
    for (int row = 0; row < rows; ++row) {
      _mm512_storeu_ps(c + row * ldc, _mm512_fmadd_ps(alpha_vector, left[row], bias_left));
      _mm512_storeu_ps(c + row * ldc + 16, _mm512_fmadd_ps(alpha_vector, right[row], bias_right));
    }
    return;
  }
#pragma GCC unroll 16
  for (int row = 0; row < rows; ++row) {
    float* c_row = c + row * ldc;
    if (beta == 0.0f) {
      _mm512_storeu_ps(c_row, _mm512_mul_ps(alpha_vector, left[row]));
      _mm512_storeu_ps(c_row + 16, _mm512_mul_ps(alpha_vector, right[row]));
    } else {
      _mm512_storeu_ps(c_row, _mm512_fmadd_ps(alpha_vector, left[row], _mm512_mul_ps(beta_vector, _mm512_loadu_ps(c_row))));
      _mm512_storeu_ps(c_row + 16,
                       _mm512_fmadd_ps(alpha_vector, right[row], _mm512_mul_ps(beta_vector, _mm512_loadu_ps(c_row + 16))));
    }
  }
}

using MicroKernel = void (*)(std::int64_t, const PairWord*, std::int64_t, const std::uint32_t*, float, float,
                             const float*, float*, std::int64_t);
template <bool pair_major, std::size_t... indices>
constexpr std::array<MicroKernel, sizeof...(indices)> make_kernels(std::index_sequence<indices...>) {
  return {&micro_kernel<static_cast<int>(indices) + 1, pair_major>...};
}
constexpr auto row_major_kernels = make_kernels<false>(std::make_index_sequence<MR>());
constexpr auto pair_major_kernels = make_kernels<true>(std::make_index_sequence<MR>());

// One tile (rows ≤ MR, columns ≤ NR; bias: nullptr or `columns` values); a narrow one goes
// through a full-width buffer.
void compute_tile(std::int64_t rows, std::int64_t columns, std::int64_t kcp, const PairWord* a, std::int64_t a_step,
                  bool pair_major, const std::uint32_t* b, float alpha, float beta, const float* bias, float* c,
                  std::int64_t ldc) {
  const MicroKernel kernel = (pair_major ? pair_major_kernels : row_major_kernels)[static_cast<std::size_t>(rows - 1)];
  if (columns == NR) {
    kernel(kcp, a, a_step, b, alpha, beta, bias, c, ldc);
    return;
  }
  alignas(64) float padded_bias[NR] = {};
  if (bias != nullptr) std::memcpy(padded_bias, bias, static_cast<std::size_t>(columns) * sizeof(float));
  alignas(64) float tile[MR * NR] = {};
  if (beta != 0.0f)
    for (std::int64_t row = 0; row < rows; ++row)
      std::memcpy(tile + row * NR, c + row * ldc, static_cast<std::size_t>(columns) * sizeof(float));
  kernel(kcp, a, a_step, b, alpha, beta, bias != nullptr ? padded_bias : nullptr, tile, NR);
  for (std::int64_t row = 0; row < rows; ++row)
    std::memcpy(c + row * ldc, tile + row * NR, static_cast<std::size_t>(columns) * sizeof(float));
}

// Asks for the lines of a C tile before the micro-kernel runs: it writes them only after its k
// loop (a thousand cycles and more), so they arrive, owned, while it multiplies instead of
// stalling its stores: +10–15% on 8192 × 128 × 128 (Zen 4, one thread). The float32 GEMM,
// whose kernel is half as fast per k step, measured no gain from it (0.86–1.05×).
void prefetch_c_tile(float* c, std::int64_t rows, std::int64_t columns, std::int64_t ldc) {
  for (std::int64_t row = 0; row < rows; ++row)
    for (std::int64_t column = 0; column < columns; column += 16) __builtin_prefetch(c + row * ldc + column, 1, 3);
}

// Whether the micro-kernel reads A's pairs where they lie: a bfloat16 A stored [M, K] whose
// rows hold whole, 4-byte aligned pairs (K and lda even). Rows a multiple of 2 KiB apart would
// put the 14 rows of a tile in one or two L1 sets (the float32 GEMM's read_a_in_place rule):
// those are packed. (Read in place, 128 × 128 × 8192 NT ran 1.04-1.07× at one thread on an idle
// machine, but 0.72× with the other core running the same product, and 0.76-0.86× on the long-K
// shapes at two threads: Zen 5, docs/gemm_bf16.md.) A float32 A is always packed: packing
// rounds it.
template <class Source>
bool reads_a_in_place(Transpose transpose_a, const Source* A, std::int64_t lda, std::int64_t K) {
  if constexpr (std::is_same_v<Source, float>) {
    return false;
  } else {
    return transpose_a == Transpose::No && K % 2 == 0 && lda % 2 == 0 && reinterpret_cast<std::uintptr_t>(A) % 4 == 0 &&
           (lda * 2) % 2048 != 0;
  }
}

// One task: the block of C at rows [row0, row0 + rows) × columns [column0, column0 + columns),
// every k slice, from the packed B; the bias (nullptr or N values) goes into the first slice.
template <class Source>
SF_BF16_TARGET void compute_block(Transpose transpose_a, std::int64_t K, float alpha, const Source* A,
                                  std::int64_t lda, const std::uint32_t* b_packed, float beta, const float* bias,
                                  float* C, std::int64_t ldc, std::int64_t row0, std::int64_t rows,
                                  std::int64_t column0, std::int64_t columns) {
  const std::int64_t pairs = (K + 1) / 2;
  const bool in_place = reads_a_in_place(transpose_a, A, lda, K);
  const bool pair_major = transpose_a == Transpose::Yes;  // packed pair by pair (gemm_bf16_packing.hpp)
  std::uint32_t* a_packed =
      in_place ? nullptr : scratch_a().get<std::uint32_t>(bf16_packing::transposed_a_stride(MC) * (KC / 2));
  for (std::int64_t pair0 = 0; pair0 < pairs; pair0 += KC / 2) {
    const std::int64_t kcp = std::min(KC / 2, pairs - pair0);
    const PairWord* a_pairs = a_packed;
    // Words from one row of A to the next, or with pair_major from one pair to the next.
    std::int64_t a_step = pair_major ? bf16_packing::transposed_a_stride(rows) : kcp;
    if (in_place) {
      a_pairs = reinterpret_cast<const PairWord*>(A + row0 * lda + 2 * pair0);
      a_step = lda / 2;
    } else {
      pack_a(transpose_a, A, lda, K, row0, rows, pair0, kcp, a_packed);
    }
    const float slice_beta = pair0 == 0 ? beta : 1.0f;
    const auto tile = [&](std::int64_t ir, std::int64_t height, std::int64_t jr) {
      const std::uint32_t* b = b_packed + ((column0 + jr) / NR * pairs + pair0) * NR;
      const float* slice_bias = pair0 == 0 && bias != nullptr ? bias + column0 + jr : nullptr;
      float* c = C + (row0 + ir) * ldc + column0 + jr;
      prefetch_c_tile(c, height, std::min(NR, columns - jr), ldc);
      compute_tile(height, std::min(NR, columns - jr), kcp, a_pairs + (pair_major ? ir : ir * a_step), a_step,
                   pair_major, b, alpha, slice_beta, slice_bias, c, ldc);
    };
    // Sliver by sliver, each B sliver staying in L1 while the block's tiles pass; but a block
    // wider than 4 slivers (rows of C longer than 512 bytes) goes tile row by tile row, so that C
    // is written a band of whole rows at a time, not 2 lines of every row per sliver. Against
    // oneDNN, that way: the masked-LM decoder 1843 × 30522 × 128 0.89-0.96 -> 1.17-1.27, 8192 ×
    // 512 × 128 +1-10%; blocks of 4 slivers or fewer lost 2-7% (Zen 5, one thread, gemm_bf16.md).
    if (columns > 4 * NR) {
      for (std::int64_t ir = 0, height = 0; ir < rows; ir += height) {
        height = tile_height(rows - ir);
        for (std::int64_t jr = 0; jr < columns; jr += NR) tile(ir, height, jr);
      }
    } else {
      for (std::int64_t jr = 0; jr < columns; jr += NR)
        for (std::int64_t ir = 0, height = 0; ir < rows; ir += height) {
          height = tile_height(rows - ir);
          tile(ir, height, jr);
        }
    }
  }
}

// How a fast path cuts its work: B's slivers padded to a multiple of `pair_multiple` pairs, row
// bands in multiples of `row_multiple` and of at most `block_rows` rows.
struct BlockPlan {
  std::int64_t pair_multiple, row_multiple, block_rows;
};
BlockPlan block_plan(Bfloat16Path path) {
  if (path == Bfloat16Path::Avx512Bf16) return {1, MR, MC};
  return {bf16_amx::pair_multiple, bf16_amx::row_multiple, bf16_amx::block_rows};
}

// One block of C on `path` (Avx512Bf16, Amx or AmxModel), B packed with padded_pairs pairs a sliver.
template <class Source>
void compute_block_on(Bfloat16Path path, Transpose transpose_a, std::int64_t K, float alpha, const Source* A,
                      std::int64_t lda, const std::uint32_t* b_packed, std::int64_t padded_pairs, float beta,
                      const float* bias, float* C, std::int64_t ldc, std::int64_t row0, std::int64_t rows,
                      std::int64_t column0, std::int64_t columns) {
  if (path == Bfloat16Path::Avx512Bf16)
    compute_block(transpose_a, K, alpha, A, lda, b_packed, beta, bias, C, ldc, row0, rows, column0, columns);
  else
    bf16_amx::compute_block(path == Bfloat16Path::AmxModel, transpose_a, K, alpha, A, lda, b_packed, padded_pairs,
                            beta, bias, C, ldc, row0, rows, column0, columns);
}

// Threaded: B packed once into a leased buffer, then about 8 tasks per thread (as the float32
// GEMM: a late worker then costs only its lateness; one task on one thread): bands of rows
// (multiples of the path's row multiple, at most its block rows), and when those are fewer than
// the threads, bands of columns too. Serial (one entry of a batch, inside a task): B packed into
// this thread's buffer, blocks in order. Every element of C sees the same k slices in the same
// order either way, so the bits are the same.
template <class SourceA, class SourceB>
void gemm_fast(Bfloat16Path path, bool threaded, Transpose transpose_a, Transpose transpose_b, std::int64_t M,
               std::int64_t N, std::int64_t K, float alpha, const SourceA* A, std::int64_t lda, const SourceB* B,
               std::int64_t ldb, float beta, const float* bias, float* C, std::int64_t ldc) {
  const BlockPlan plan = block_plan(path);
  const std::int64_t pairs = (K + 1) / 2, slivers = (N + NR - 1) / NR;
  const std::int64_t padded_pairs = (pairs + plan.pair_multiple - 1) / plan.pair_multiple * plan.pair_multiple;
  const auto block = [&](const std::uint32_t* b_packed, std::int64_t row0, std::int64_t rows, std::int64_t column0,
                         std::int64_t columns) {
    compute_block_on(path, transpose_a, K, alpha, A, lda, b_packed, padded_pairs, beta, bias, C, ldc, row0, rows,
                     column0, columns);
  };
  if (!threaded) {
    std::uint32_t* b_packed = gemm_detail::scratch_b().get<std::uint32_t>(padded_pairs * slivers * NR);
    for (std::int64_t sliver = 0; sliver < slivers; ++sliver)
      pack_b_sliver(transpose_b, B, ldb, K, N, sliver, padded_pairs, b_packed);
    for (std::int64_t row0 = 0; row0 < M; row0 += plan.block_rows)
      for (std::int64_t column0 = 0; column0 < N; column0 += N_CHUNK)
        block(b_packed, row0, std::min(plan.block_rows, M - row0), column0, std::min(N_CHUNK, N - column0));
    return;
  }
  SharedBufferLease lease;
  std::uint32_t* b_packed = lease.buffer().get<std::uint32_t>(padded_pairs * slivers * NR);
  pack_b(transpose_b, B, ldb, K, N, padded_pairs, b_packed);
  const std::int64_t threads = static_cast<std::int64_t>(parallel::threads_here());
  const std::int64_t wanted = threads == 1 ? 1 : 8 * threads;
  const std::int64_t band = std::clamp<std::int64_t>((M + wanted - 1) / wanted, 1, plan.block_rows);
  const std::int64_t row_band =
      std::min(plan.block_rows, (band + plan.row_multiple - 1) / plan.row_multiple * plan.row_multiple);
  const std::int64_t row_blocks = (M + row_band - 1) / row_band;
  // Each column band of a row block packs (rounds) that block of A again: split columns only
  // when there are fewer row blocks than threads.
  const std::int64_t column_tasks =
      row_blocks >= threads ? 1 : std::max<std::int64_t>(1, (wanted + row_blocks - 1) / row_blocks);
  const std::int64_t column_band =
      std::min(N_CHUNK, std::max(NR, ((N + column_tasks - 1) / column_tasks + NR - 1) / NR * NR));
  const std::int64_t column_chunks = (N + column_band - 1) / column_band;
  parallel::parallel_for(0, row_blocks * column_chunks, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t task = first; task < last; ++task) {
      const std::int64_t row0 = task / column_chunks * row_band, column0 = task % column_chunks * column_band;
      block(b_packed, row0, std::min(row_band, M - row0), column0, std::min(column_band, N - column0));
    }
  });
}

// An operand's value as the products use it: a float32 rounded to bfloat16, a bfloat16 as it is.
float product_value(float value) { return round_to_bfloat16(value); }
float product_value(std::uint16_t bits) { return bfloat16_to_float(bits); }

// The operands rounded to bfloat16 (kept as float32, same layout), then the float32 GEMM.
template <class SourceA, class SourceB>
void gemm_emulated(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N, std::int64_t K,
                   float alpha, const SourceA* A, std::int64_t lda, const SourceB* B, std::int64_t ldb, float beta,
                   float* C, std::int64_t ldc) {
  auto rounded_copy = [](const auto* X, std::int64_t ld, std::int64_t rows, std::int64_t columns) {
    std::vector<float> copy(static_cast<std::size_t>(rows * columns));
    for (std::int64_t row = 0; row < rows; ++row)
      for (std::int64_t column = 0; column < columns; ++column)
        copy[static_cast<std::size_t>(row * columns + column)] = product_value(X[row * ld + column]);
    return copy;
  };
  // Stored shapes: A is [M, K] or [K, M]; B is [K, N] or [N, K].
  const std::int64_t a_rows = transpose_a == Transpose::No ? M : K, a_columns = transpose_a == Transpose::No ? K : M;
  const std::int64_t b_rows = transpose_b == Transpose::No ? K : N, b_columns = transpose_b == Transpose::No ? N : K;
  const std::vector<float> a = rounded_copy(A, lda, a_rows, a_columns), b = rounded_copy(B, ldb, b_rows, b_columns);
  // (A leading dimension is at least 1, even for an empty operand: K = 0 gives C = beta · C.)
  gemm<float>(transpose_a, transpose_b, M, N, K, alpha, a.data(), std::max<std::int64_t>(1, a_columns), b.data(),
              std::max<std::int64_t>(1, b_columns), beta, C, ldc);
}

}  // namespace

namespace {

// gemm_bfloat16 and gemm_bfloat16_with_bias (bias: nullptr, or N values and beta 0), float32 or
// bfloat16 operands.
template <class SourceA, class SourceB>
void gemm_bfloat16_any(const char* name, Bfloat16Path path, Transpose transpose_a, Transpose transpose_b,
                       std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const SourceA* A,
                       std::int64_t lda, const SourceB* B, std::int64_t ldb, float beta, const float* bias, float* C,
                       std::int64_t ldc) {
  if (M < 0 || N < 0 || K < 0) fail("{}: negative size M={} N={} K={}", name, M, N, K);
  if (M == 0 || N == 0) return;
  if (!bfloat16_path_available(path)) fail("{}: the {} path needs a CPU with it", name, bfloat16_path_name(path));
  if (K == 0 || path == Bfloat16Path::Emulated) {
    if (bias != nullptr) {  // the two steps the fused bias stands for
      for (std::int64_t row = 0; row < M; ++row)
        std::memcpy(C + row * ldc, bias, static_cast<std::size_t>(N) * sizeof(float));
      beta = 1.0f;
    }
    gemm_emulated(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // A long K against a small C (a weight gradient): parts along K, as the float32 GEMM does
  // (gemm_split_k.hpp; chosen by shape alone). Part boundaries are multiples of 2048, so even.
  // The bias goes with the first part, which writes C.
  if (const std::int64_t part_length = gemm_detail::k_part_length(M, N, K); part_length > 0) {
    gemm_detail::gemm_split_k<float>(
        M, N, K, part_length, beta, C, ldc,
        [&](std::int64_t k_begin, std::int64_t k_length, float part_beta, float* part_c, std::int64_t part_ldc,
            bool first, bool threaded) {
          const SourceA* a_part = A + (transpose_a == Transpose::No ? k_begin : k_begin * lda);
          const SourceB* b_part = B + (transpose_b == Transpose::No ? k_begin * ldb : k_begin);
          gemm_fast(path, threaded, transpose_a, transpose_b, M, N, k_length, alpha, a_part, lda, b_part, ldb,
                          part_beta, first ? bias : nullptr, part_c, part_ldc);
        });
    return;
  }
  // Threads as the float32 GEMM decides (gemm_detail::plan_gemm_threads); the bits do not depend on it.
  const bool threaded = gemm_detail::plan_gemm_threads(1, M * N * K).split != gemm_detail::GemmSplit::Serial;
  gemm_fast(path, threaded, transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, bias, C, ldc);
}

}  // namespace

void gemm_bfloat16(Bfloat16Path path, Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N,
                   std::int64_t K, float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
                   float beta, float* C, std::int64_t ldc) {
  gemm_bfloat16_any("gemm_bfloat16", path, transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, nullptr, C,
                    ldc);
}

void gemm_bfloat16(Bfloat16Path path, Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N,
                   std::int64_t K, float alpha, const std::uint16_t* A, std::int64_t lda, const std::uint16_t* B,
                   std::int64_t ldb, float beta, float* C, std::int64_t ldc) {
  gemm_bfloat16_any("gemm_bfloat16", path, transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, nullptr, C,
                    ldc);
}

void gemm_bfloat16_with_bias(Bfloat16Path path, Transpose transpose_a, Transpose transpose_b, std::int64_t M,
                             std::int64_t N, std::int64_t K, float alpha, const float* A, std::int64_t lda,
                             const float* B, std::int64_t ldb, const float* bias, float* C, std::int64_t ldc) {
  if (bias == nullptr && M > 0 && N > 0) fail("gemm_bfloat16_with_bias: the bias of C [{}, {}] is null", M, N);
  gemm_bfloat16_any("gemm_bfloat16_with_bias", path, transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, 0.0f,
                    bias, C, ldc);
}

// The path of the first call, kept for the process (SF_ISA is read once).
static Bfloat16Path process_path() {
  static const Bfloat16Path path = bfloat16_path();
  return path;
}

void gemm_bfloat16(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N, std::int64_t K,
                   float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta,
                   float* C, std::int64_t ldc) {
  gemm_bfloat16(process_path(), transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_bfloat16(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N, std::int64_t K,
                   float alpha, const std::uint16_t* A, std::int64_t lda, const std::uint16_t* B, std::int64_t ldb,
                   float beta, float* C, std::int64_t ldc) {
  gemm_bfloat16(process_path(), transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_bfloat16_with_bias(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N,
                             std::int64_t K, float alpha, const float* A, std::int64_t lda, const float* B,
                             std::int64_t ldb, const float* bias, float* C, std::int64_t ldc) {
  gemm_bfloat16_with_bias(process_path(), transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, bias, C, ldc);
}

void gemm_bfloat16_batched_strided(Bfloat16Path path, Transpose transpose_a, Transpose transpose_b, std::int64_t batch,
                                   std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* A,
                                   std::int64_t lda, std::int64_t stride_a, const float* B, std::int64_t ldb,
                                   std::int64_t stride_b, float beta, float* C, std::int64_t ldc,
                                   std::int64_t stride_c) {
  if (batch < 0 || M < 0 || N < 0 || K < 0)
    fail("gemm_bfloat16_batched_strided: negative size batch={} M={} N={} K={}", batch, M, N, K);
  if (batch == 0 || M == 0 || N == 0) return;
  const std::int64_t c_extent = (M - 1) * ldc + N;
  if (batch > 1 && stride_c < c_extent && -stride_c < c_extent)
    fail("gemm_bfloat16_batched_strided: stride_c {} makes the C matrices [{}, {}] (ldc {}) of the {} entries overlap",
         stride_c, M, N, ldc, batch);
  if (!bfloat16_path_available(path))
    fail("gemm_bfloat16_batched_strided: the {} path needs a CPU with it", bfloat16_path_name(path));
  // Threads as the float32 GEMM decides (gemm_detail::plan_gemm_threads): entries one per task, or
  // each split over the threads, or all on the caller.
  // (A single entry always goes through gemm_bfloat16, whose K split must not depend on the threads.)
  const gemm_detail::GemmSplit split = gemm_detail::plan_gemm_threads(batch, M * N * K).split;
  if (K == 0 || path == Bfloat16Path::Emulated || batch == 1 || split == gemm_detail::GemmSplit::SplitEachEntry) {
    for (std::int64_t entry = 0; entry < batch; ++entry)
      gemm_bfloat16(path, transpose_a, transpose_b, M, N, K, alpha, A + entry * stride_a, lda, B + entry * stride_b,
                    ldb, beta, C + entry * stride_c, ldc);
    return;
  }
  const auto one_entry = [&](std::int64_t entry) {
    gemm_fast(path, false, transpose_a, transpose_b, M, N, K, alpha, A + entry * stride_a, lda, B + entry * stride_b,
                    ldb, beta, nullptr, C + entry * stride_c, ldc);
  };
  if (split == gemm_detail::GemmSplit::Serial) {
    for (std::int64_t entry = 0; entry < batch; ++entry) one_entry(entry);
    return;
  }
  parallel::parallel_for(0, batch, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t entry = first; entry < last; ++entry) one_entry(entry);
  });
}

void gemm_bfloat16_batched_strided(Transpose transpose_a, Transpose transpose_b, std::int64_t batch, std::int64_t M,
                                   std::int64_t N, std::int64_t K, float alpha, const float* A, std::int64_t lda,
                                   std::int64_t stride_a, const float* B, std::int64_t ldb, std::int64_t stride_b,
                                   float beta, float* C, std::int64_t ldc, std::int64_t stride_c) {
  gemm_bfloat16_batched_strided(process_path(), transpose_a, transpose_b, batch, M, N, K, alpha, A, lda, stride_a, B,
                                ldb, stride_b, beta, C, ldc, stride_c);
}

}  // namespace sf::kernels
