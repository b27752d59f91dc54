// The public GEMM entry points: argument checks, the teaching variants, the tiny-problem
// shortcut, and how batch entries are spread over threads.
//
//   C_b[M, N] = alpha · op(A_b)[M, K] · op(B_b)[K, N] + beta · C_b[M, N],   b < batch
//
// Threading: many entries (attention) → one serial gemm_packed task per entry; one or a few
// large entries → gemm_parallel (gemm_parallel.cpp) on each, which splits C into bands of rows
// or columns; a single product whose K is long against C (a weight gradient) → parts along K
// (gemm_split_k.hpp), chosen by shape alone. gemm_packed and gemm_parallel compute each element of C with the same operations
// (same K slices, same micro-kernel), so 1 and 2 threads give the same bits; the tiny-problem
// loop, whose arithmetic differs, is chosen by shape alone.
#include <algorithm>
#include <string_view>

#include "gemm_internal.hpp"
#include "gemm_split_k.hpp"
#include "sf/core/error.hpp"
#include "sf/core/kernels/gemm_config.hpp"
#include "sf/core/parallel.hpp"

namespace sf::kernels {
namespace {

using gemm_detail::Operand;

const char* transpose_name(Transpose transpose) { return transpose == Transpose::No ? "N" : "T"; }

void check_arguments(const char* op, Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N,
                     std::int64_t K, std::int64_t lda, std::int64_t ldb, std::int64_t ldc) {
  SF_CHECK(M >= 0 && N >= 0 && K >= 0, "{}: negative size M={}, N={}, K={}", op, M, N, K);
  const std::int64_t a_columns = transpose_a == Transpose::No ? K : M;
  const std::int64_t b_columns = transpose_b == Transpose::No ? N : K;
  SF_CHECK(lda >= std::max<std::int64_t>(1, a_columns), "{}: lda {} < {} for A stored [{}, {}] (op {})", op, lda,
           a_columns, transpose_a == Transpose::No ? M : K, a_columns, transpose_name(transpose_a));
  SF_CHECK(ldb >= std::max<std::int64_t>(1, b_columns), "{}: ldb {} < {} for B stored [{}, {}] (op {})", op, ldb,
           b_columns, transpose_b == Transpose::No ? K : N, b_columns, transpose_name(transpose_b));
  SF_CHECK(ldc >= std::max<std::int64_t>(1, N), "{}: ldc {} < N {} for C [{}, {}]", op, ldc, N, M, N);
}

// One product cut into parts along K (gemm_split_k.hpp): each part serially or, with more threads
// than parts, itself over the threads; the bias (if any) goes with the first part.
template <class T>
void gemm_in_k_parts(std::int64_t part_length, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, Operand<T> a,
                     Operand<T> b, T beta, T* C, std::int64_t ldc, const T* bias) {
  gemm_detail::gemm_split_k<T>(M, N, K, part_length, beta, C, ldc,
                               [&](std::int64_t k_begin, std::int64_t k_length, T part_beta, T* part_c,
                                   std::int64_t part_ldc, bool first, bool threaded) {
                                 const Operand<T> a_part = a.shifted(0, k_begin), b_part = b.shifted(k_begin, 0);
                                 const T* part_bias = first ? bias : nullptr;
                                 if (threaded)
                                   gemm_detail::gemm_parallel<T>(M, N, k_length, alpha, a_part, b_part, part_beta,
                                                                 part_c, part_ldc, parallel::threads_here(), part_bias);
                                 else
                                   gemm_detail::gemm_packed<T>(M, N, k_length, alpha, a_part, b_part, part_beta,
                                                               part_c, part_ldc, part_bias);
                               });
}

template <class T>
void run_gemm(GemmVariant variant, Transpose transpose_a, Transpose transpose_b, std::int64_t batch, std::int64_t M,
              std::int64_t N, std::int64_t K, T alpha, const T* A, std::int64_t lda, std::int64_t stride_a,
              const T* B, std::int64_t ldb, std::int64_t stride_b, T beta, T* C, std::int64_t ldc,
              std::int64_t stride_c) {
  if (batch == 0 || M == 0 || N == 0) return;
  const bool threaded = variant == GemmVariant::Threaded;
  const std::int64_t work = M * N * K;
  if (K == 0 || alpha == T(0)) {  // C = beta · C; A and B are not read
    const auto scale_entries = [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t entry = first; entry < last; ++entry)
        gemm_detail::scale_matrix(M, N, beta, C + entry * stride_c, ldc);
    };
    if (threaded)
      parallel::parallel_for(0, batch, 1, scale_entries);
    else
      scale_entries(0, batch);
    return;
  }
  const Operand<T> a = gemm_detail::make_operand(A, lda, transpose_a);
  const Operand<T> b = gemm_detail::make_operand(B, ldb, transpose_b);
  const auto shifted = [](Operand<T> operand, std::int64_t offset) {
    return Operand<T>{operand.data + offset, operand.row_stride, operand.column_stride};
  };
  if (!threaded) {  // the teaching steps, one thread, one entry after the other
    for (std::int64_t entry = 0; entry < batch; ++entry) {
      const Operand<T> a_entry = shifted(a, entry * stride_a), b_entry = shifted(b, entry * stride_b);
      T* c_entry = C + entry * stride_c;
      if (variant == GemmVariant::Naive)
        gemm_detail::gemm_naive<T, T>(M, N, K, alpha, a_entry, b_entry, beta, c_entry, ldc);
      else if (variant == GemmVariant::Blocked)
        gemm_detail::gemm_blocked<T>(M, N, K, alpha, a_entry, b_entry, beta, c_entry, ldc);
      else
        gemm_detail::gemm_packed<T>(M, N, K, alpha, a_entry, b_entry, beta, c_entry, ldc);
    }
    return;
  }
  // Too small for packing to pay: the direct loop (chosen by shape alone, never by threads).
  if (work <= gemm_config::small_work) {
    parallel::parallel_for(0, batch, std::max<std::int64_t>(1, gemm_config::parallel_min_work / work),
                           [&](std::int64_t first, std::int64_t last) {
                             for (std::int64_t entry = first; entry < last; ++entry)
                               gemm_detail::gemm_naive<T, T>(M, N, K, alpha, shifted(a, entry * stride_a),
                                                             shifted(b, entry * stride_b), beta,
                                                             C + entry * stride_c, ldc);
                           });
    return;
  }
  // A long K against a small C: cut along K (by shape alone, so at any thread count).
  if (const std::int64_t part_length = gemm_detail::k_part_length(M, N, K); batch == 1 && part_length > 0) {
    gemm_in_k_parts<T>(part_length, M, N, K, alpha, a, b, beta, C, ldc, nullptr);
    return;
  }
  const gemm_detail::GemmThreading plan = gemm_detail::plan_gemm_threads(batch, work);
  const auto one_entry_serially = [&](std::int64_t entry) {
    gemm_detail::gemm_packed<T>(M, N, K, alpha, shifted(a, entry * stride_a), shifted(b, entry * stride_b), beta,
                                C + entry * stride_c, ldc);
  };
  if (plan.split == gemm_detail::GemmSplit::Serial) {
    for (std::int64_t entry = 0; entry < batch; ++entry) one_entry_serially(entry);
  } else if (plan.split == gemm_detail::GemmSplit::EntryPerTask) {
    parallel::parallel_for(0, batch, parallel::grain::gemm_tiles, [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t entry = first; entry < last; ++entry) one_entry_serially(entry);
    });
  } else {
    for (std::int64_t entry = 0; entry < batch; ++entry)
      gemm_detail::gemm_parallel<T>(M, N, K, alpha, shifted(a, entry * stride_a), shifted(b, entry * stride_b), beta,
                                    C + entry * stride_c, ldc, plan.threads);
  }
}

}  // namespace

namespace gemm_detail {

GemmThreading plan_gemm_threads(std::int64_t batch, std::int64_t work) {
  const std::int64_t threads = static_cast<std::int64_t>(parallel::threads_here());
  if (threads == 1 || work * batch < gemm_config::parallel_min_work) return {GemmSplit::Serial, 1};
  if (batch >= 2 * threads || work < gemm_config::parallel_min_work) return {GemmSplit::EntryPerTask, threads};
  return {GemmSplit::SplitEachEntry, threads};
}

}  // namespace gemm_detail

template <class T>
void gemm(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha,
          const T* A, std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc) {
  check_arguments("gemm", transpose_a, transpose_b, M, N, K, lda, ldb, ldc);
  run_gemm<T>(GemmVariant::Threaded, transpose_a, transpose_b, 1, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc,
              0);
}

// The packed paths add the bias in the micro-kernel's epilogue, fma(alpha, sum, bias), which is
// bit for bit what writing the bias into C first and running gemm with beta = 1 gives
// (fma(alpha, sum, 1 · c)); the paths without that epilogue (tiny problems, K = 0) do exactly
// that. The choice depends on the shape alone, as in gemm.
template <class T>
void gemm_with_bias(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    T alpha, const T* A, std::int64_t lda, const T* B, std::int64_t ldb, const T* bias, T* C,
                    std::int64_t ldc) {
  check_arguments("gemm_with_bias", transpose_a, transpose_b, M, N, K, lda, ldb, ldc);
  SF_CHECK(bias != nullptr || M == 0 || N == 0, "gemm_with_bias: the bias of C [{}, {}] is null", M, N);
  if (M == 0 || N == 0) return;
  const std::int64_t work = M * N * K;
  if (K == 0 || alpha == T(0) || work <= gemm_config::small_work) {
    for (std::int64_t row = 0; row < M; ++row)
      std::copy(bias, bias + N, C + row * ldc);
    run_gemm<T>(GemmVariant::Threaded, transpose_a, transpose_b, 1, M, N, K, alpha, A, lda, 0, B, ldb, 0, T(1), C,
                ldc, 0);
    return;
  }
  const Operand<T> a = gemm_detail::make_operand(A, lda, transpose_a);
  const Operand<T> b = gemm_detail::make_operand(B, ldb, transpose_b);
  if (const std::int64_t part_length = gemm_detail::k_part_length(M, N, K); part_length > 0) {
    gemm_in_k_parts<T>(part_length, M, N, K, alpha, a, b, T(0), C, ldc, bias);
    return;
  }
  const gemm_detail::GemmThreading plan = gemm_detail::plan_gemm_threads(1, work);
  if (plan.split == gemm_detail::GemmSplit::Serial)
    gemm_detail::gemm_packed<T>(M, N, K, alpha, a, b, T(0), C, ldc, bias);
  else
    gemm_detail::gemm_parallel<T>(M, N, K, alpha, a, b, T(0), C, ldc, plan.threads, bias);
}

template <class T>
void gemm_batched_strided(Transpose transpose_a, Transpose transpose_b, std::int64_t batch, std::int64_t M,
                          std::int64_t N, std::int64_t K, T alpha, const T* A, std::int64_t lda,
                          std::int64_t stride_a, const T* B, std::int64_t ldb, std::int64_t stride_b, T beta, T* C,
                          std::int64_t ldc, std::int64_t stride_c) {
  check_arguments("gemm_batched_strided", transpose_a, transpose_b, M, N, K, lda, ldb, ldc);
  SF_CHECK(batch >= 0, "gemm_batched_strided: negative batch {}", batch);
  // The C matrices of different entries must not overlap, or two tasks would write one element.
  const std::int64_t c_extent = M > 0 && N > 0 ? (M - 1) * ldc + N : 0;
  SF_CHECK(batch <= 1 || c_extent == 0 || stride_c >= c_extent || -stride_c >= c_extent,
           "gemm_batched_strided: stride_c {} makes the C matrices [{}, {}] (ldc {}) of the {} entries overlap",
           stride_c, M, N, ldc, batch);
  run_gemm<T>(GemmVariant::Threaded, transpose_a, transpose_b, batch, M, N, K, alpha, A, lda, stride_a, B, ldb,
              stride_b, beta, C, ldc, stride_c);
}

template <class T>
void gemm_reference(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    T alpha, const T* A, std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C,
                    std::int64_t ldc) {
  check_arguments("gemm_reference", transpose_a, transpose_b, M, N, K, lda, ldb, ldc);
  gemm_detail::gemm_naive<T, double>(M, N, K, alpha, gemm_detail::make_operand(A, lda, transpose_a),
                                     gemm_detail::make_operand(B, ldb, transpose_b), beta, C, ldc);
}

template <class T>
void gemm_variant(GemmVariant variant, Transpose transpose_a, Transpose transpose_b, std::int64_t M,
                  std::int64_t N, std::int64_t K, T alpha, const T* A, std::int64_t lda, const T* B,
                  std::int64_t ldb, T beta, T* C, std::int64_t ldc) {
  check_arguments("gemm_variant", transpose_a, transpose_b, M, N, K, lda, ldb, ldc);
  run_gemm<T>(variant, transpose_a, transpose_b, 1, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0);
}

GemmVariant parse_gemm_variant(const char* name) {
  for (GemmVariant variant :
       {GemmVariant::Naive, GemmVariant::Blocked, GemmVariant::Packed, GemmVariant::Threaded})
    if (std::string_view(name) == gemm_variant_name(variant)) return variant;
  fail("gemm: unknown variant '{}' (expected naive, blocked, packed or threaded)", name);
}

const char* gemm_variant_name(GemmVariant variant) {
  switch (variant) {
    case GemmVariant::Naive: return "naive";
    case GemmVariant::Blocked: return "blocked";
    case GemmVariant::Packed: return "packed";
    case GemmVariant::Threaded: return "threaded";
  }
  return "unknown";
}

#define SF_GEMM_INSTANTIATE(T)                                                                                   \
  template void gemm<T>(Transpose, Transpose, std::int64_t, std::int64_t, std::int64_t, T, const T*,             \
                        std::int64_t, const T*, std::int64_t, T, T*, std::int64_t);                              \
  template void gemm_with_bias<T>(Transpose, Transpose, std::int64_t, std::int64_t, std::int64_t, T, const T*,   \
                                  std::int64_t, const T*, std::int64_t, const T*, T*, std::int64_t);             \
  template void gemm_batched_strided<T>(Transpose, Transpose, std::int64_t, std::int64_t, std::int64_t,          \
                                        std::int64_t, T, const T*, std::int64_t, std::int64_t, const T*,         \
                                        std::int64_t, std::int64_t, T, T*, std::int64_t, std::int64_t);          \
  template void gemm_reference<T>(Transpose, Transpose, std::int64_t, std::int64_t, std::int64_t, T, const T*,   \
                                  std::int64_t, const T*, std::int64_t, T, T*, std::int64_t);                    \
  template void gemm_variant<T>(GemmVariant, Transpose, Transpose, std::int64_t, std::int64_t, std::int64_t, T,  \
                                const T*, std::int64_t, const T*, std::int64_t, T, T*, std::int64_t);
SF_GEMM_INSTANTIATE(float)
SF_GEMM_INSTANTIATE(double)
#undef SF_GEMM_INSTANTIATE

}  // namespace sf::kernels
