// GEMM: C = alpha · op(A) · op(B) + beta · C, row-major, for T = float and double.
//
//   op(A): [M, K]   A is stored [M, K] with row stride lda ≥ K  (Transpose::No)
//                   or stored   [K, M] with row stride lda ≥ M  (Transpose::Yes)
//   op(B): [K, N]   B is stored [K, N] with row stride ldb ≥ N  (Transpose::No)
//                   or stored   [N, K] with row stride ldb ≥ K  (Transpose::Yes)
//   C:     [M, N]   row stride ldc ≥ N
//
// beta == 0 ignores C's old content (NaN included); K == 0 gives C = beta · C.
// Transposes are handled while packing, never by materializing a transposed copy.
//
// Determinism: every element of C is computed by the same sequence of operations whatever the
// thread count or the way C is split into tiles (one FMA chain over k inside each KC slice,
// the slices added in order), so results are bit-identical for 1 and 2 threads.
//
// How it is built (docs/gemm.md tells the story with measurements): the BLIS loops with the
// block sizes of gemm_config.hpp, operands packed into 64-byte-aligned per-thread buffers, an
// MR × NR xsimd micro-kernel, and oneTBB tasks over disjoint bands of C (with B packed once
// and shared by the tasks).
#pragma once

#include <cstdint>

namespace sf::kernels {

enum class Transpose { No, Yes };

// The production GEMM: packed, micro-kernel, threaded (sf::parallel thread count).
template <class T>
void gemm(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha,
          const T* A, std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc);

// C = alpha · op(A) · op(B) + bias, the bias row (N values) added to every row of C; C's old
// content is ignored. The bias is added in the micro-kernel's last step instead of being
// written into C first: one pass less over C (a linear layer's output). Same bits as copying
// the bias into C and calling gemm with beta = 1.
template <class T>
void gemm_with_bias(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    T alpha, const T* A, std::int64_t lda, const T* B, std::int64_t ldb, const T* bias, T* C,
                    std::int64_t ldc);

// `batch` independent GEMMs; operand i starts at A + i·stride_a (B, C likewise). A stride of 0
// broadcasts that operand to every batch entry (not allowed for C when batch > 1). Many entries
// run one task each; a few large ones run one after the other, each split over the threads.
template <class T>
void gemm_batched_strided(Transpose transpose_a, Transpose transpose_b, std::int64_t batch, std::int64_t M,
                          std::int64_t N, std::int64_t K, T alpha, const T* A, std::int64_t lda,
                          std::int64_t stride_a, const T* B, std::int64_t ldb, std::int64_t stride_b, T beta, T* C,
                          std::int64_t ldc, std::int64_t stride_c);

// The naive triple loop, accumulating in double: the reference the tests compare against.
template <class T>
void gemm_reference(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    T alpha, const T* A, std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C,
                    std::int64_t ldc);

// The teaching steps of docs/gemm.md, selectable by bench_gemm --variant:
//   Naive    - the triple loop i, j, k with a T accumulator;
//   Blocked  - MC/KC/NC cache blocking and an i-k-j inner loop the compiler vectorizes, no packing;
//   Packed   - packing + the MR × NR micro-kernel, one thread;
//   Threaded - Packed spread over threads = gemm().
enum class GemmVariant { Naive, Blocked, Packed, Threaded };

template <class T>
void gemm_variant(GemmVariant variant, Transpose transpose_a, Transpose transpose_b, std::int64_t M,
                  std::int64_t N, std::int64_t K, T alpha, const T* A, std::int64_t lda, const T* B,
                  std::int64_t ldb, T beta, T* C, std::int64_t ldc);

// "naive", "blocked", "packed", "threaded" (throws sf::Error on anything else).
GemmVariant parse_gemm_variant(const char* name);
const char* gemm_variant_name(GemmVariant variant);

}  // namespace sf::kernels
