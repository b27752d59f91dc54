// The simple GEMMs: the naive reference the tests trust, and the first two teaching steps.
//
//   C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C[M, N]
#include <algorithm>

#include "gemm_internal.hpp"
#include "sf/core/kernels/gemm_config.hpp"

namespace sf::kernels::gemm_detail {

template <class T>
void scale_matrix(std::int64_t M, std::int64_t N, T beta, T* C, std::int64_t ldc) {
  for (std::int64_t i = 0; i < M; ++i) {
    T* row = C + i * ldc;
    if (beta == T(0))
      std::fill(row, row + N, T(0));
    else
      for (std::int64_t j = 0; j < N; ++j) row[j] *= beta;
  }
}

// Step 1, the triple loop: one dot product of length K per element of C. op(A) is read along
// rows and op(B) down columns, so for B stored [K, N] every step k jumps a whole row of B:
// about one cache miss per multiply-add once B outgrows the caches.
template <class T, class Accumulator>
void gemm_naive(std::int64_t M, std::int64_t N, std::int64_t K, T alpha, Operand<T> a, Operand<T> b, T beta, T* C,
                std::int64_t ldc) {
  for (std::int64_t i = 0; i < M; ++i) {
    for (std::int64_t j = 0; j < N; ++j) {
      Accumulator sum = 0;
      for (std::int64_t k = 0; k < K; ++k)
        sum += static_cast<Accumulator>(a.at(i, k)) * static_cast<Accumulator>(b.at(k, j));
      T& c = C[i * ldc + j];
      const Accumulator scaled = static_cast<Accumulator>(alpha) * sum;
      c = beta == T(0) ? static_cast<T>(scaled) : static_cast<T>(scaled + static_cast<Accumulator>(beta) * c);
    }
  }
}

// Step 2, cache blocking without packing: the same MC × KC × NC blocks as the packed GEMM, and
// inside a block the loop order i, k, j, whose inner loop
//   C[i, j:j+NC] += (alpha · op(A)(i, k)) · op(B)(k, j:j+NC)
// walks a row of C and a row of op(B) contiguously (when B is not transposed), so the compiler
// vectorizes it. C is still loaded and stored once per k: memory traffic, not FMAs, limits it.
template <class T>
void gemm_blocked(std::int64_t M, std::int64_t N, std::int64_t K, T alpha, Operand<T> a, Operand<T> b, T beta, T* C,
                  std::int64_t ldc) {
  using Blocking = gemm_config::Blocking<T>;
  scale_matrix(M, N, beta, C, ldc);
  // The inner loop with the column stride of op(B) as a template constant when it is 1.
  const auto update_row = [&](auto column_stride, T* c_row, const T* b_row, T a_value, std::int64_t columns) {
    for (std::int64_t j = 0; j < columns; ++j) c_row[j] += a_value * b_row[j * column_stride];
  };
  for (std::int64_t jc = 0; jc < N; jc += Blocking::NC) {
    const std::int64_t nc = std::min(Blocking::NC, N - jc);
    for (std::int64_t pc = 0; pc < K; pc += Blocking::KC) {
      const std::int64_t kc = std::min(Blocking::KC, K - pc);
      for (std::int64_t ic = 0; ic < M; ic += Blocking::MC) {
        const std::int64_t mc = std::min(Blocking::MC, M - ic);
        for (std::int64_t i = ic; i < ic + mc; ++i) {
          T* c_row = C + i * ldc + jc;
          for (std::int64_t k = pc; k < pc + kc; ++k) {
            const T a_value = alpha * a.at(i, k);
            const T* b_row = b.data + k * b.row_stride + jc * b.column_stride;
            if (b.column_stride == 1)
              update_row(std::integral_constant<std::int64_t, 1>{}, c_row, b_row, a_value, nc);
            else
              update_row(b.column_stride, c_row, b_row, a_value, nc);
          }
        }
      }
    }
  }
}

#define SF_GEMM_SIMPLE_INSTANTIATE(T)                                                                           \
  template void scale_matrix<T>(std::int64_t, std::int64_t, T, T*, std::int64_t);                               \
  template void gemm_naive<T, T>(std::int64_t, std::int64_t, std::int64_t, T, Operand<T>, Operand<T>, T, T*,    \
                                 std::int64_t);                                                                 \
  template void gemm_blocked<T>(std::int64_t, std::int64_t, std::int64_t, T, Operand<T>, Operand<T>, T, T*,     \
                                std::int64_t);
SF_GEMM_SIMPLE_INSTANTIATE(float)
SF_GEMM_SIMPLE_INSTANTIATE(double)
// The reference of the tests accumulates in double for both types.
template void gemm_naive<float, double>(std::int64_t, std::int64_t, std::int64_t, float, Operand<float>,
                                        Operand<float>, float, float*, std::int64_t);
#undef SF_GEMM_SIMPLE_INSTANTIATE

}  // namespace sf::kernels::gemm_detail
