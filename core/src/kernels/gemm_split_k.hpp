// Splitting K: the weight gradient of a linear layer, dW[d_in, d_out] = Xᵀ · dY, is a GEMM with
// a small C (128 × 128 … 512 × 128) and a long K (every token of the batch: 48 · 256 = 12,288).
// Cut into bands of rows or columns of C, every band streams all of packed B (K × N), so a second
// thread gains nothing: both wait on the shared cache (docs/gemm.md). Cut along K instead, each
// part streams only its own rows of A and B:
//
//   C = beta · C + alpha · op(A)[:, K₀] · op(B)[K₀, :]          part 0, written into C
//     + alpha · op(A)[:, K₁] · op(B)[K₁, :]                    part 1, into a buffer
//     + …                                                      added to C in part order
//
// The parts, their number and their order depend on the shape alone, never on the threads, so
// 1 and 2 threads still give the same bits. (They are not the bits of the unsplit product: the
// parts are summed separately, then added.)
#pragma once

#include <algorithm>
#include <cstdint>

#include "gemm_internal.hpp"
#include "sf/core/parallel.hpp"

namespace sf::kernels::gemm_detail {

// Smallest part (a multiple of every K slice: 512 float32 values, 256 bfloat16 pairs).
inline constexpr std::int64_t k_part_min = 2048;
inline constexpr std::int64_t k_parts_max = 8;

// The length of the parts a single (unbatched) product is cut into along K; 0: not cut. Only
// products whose K is long against C (K ≥ 8 · max(M, N)) are cut: into 2 to k_parts_max parts,
// each a multiple of k_part_min long (the last one shorter).
inline std::int64_t k_part_length(std::int64_t M, std::int64_t N, std::int64_t K) {
  if (K < 2 * k_part_min || K < 8 * std::max(M, N)) return 0;
  const std::int64_t parts = std::min(k_parts_max, K / k_part_min);
  return (K / parts + k_part_min - 1) / k_part_min * k_part_min;
}

// Runs the product in parts of `length` along K (0 < length < K). multiply(k_begin, k_length,
// beta, C, ldc, first, threaded) computes C = alpha · op(A)[:, k_begin:+k_length] ·
// op(B)[k_begin:+k_length, :] + beta · C (the first part is also where a bias goes); `threaded`:
// whether it may split itself over the threads (when there are more threads than parts).
template <class T, class Multiply>
void gemm_split_k(std::int64_t M, std::int64_t N, std::int64_t K, std::int64_t length, T beta, T* C, std::int64_t ldc,
                  Multiply&& multiply) {
  const std::int64_t part_count = (K + length - 1) / length;
  SharedBufferLease lease;  // the partial sums of parts 1, 2, … (M × N each, row-major)
  T* partial = lease.buffer().get<T>((part_count - 1) * M * N);
  const bool threaded = parallel::threads_here() > part_count;
  parallel::parallel_for(0, part_count, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t part = first; part < last; ++part) {
      const std::int64_t k_begin = part * length, k_length = std::min(length, K - k_begin);
      if (part == 0)
        multiply(k_begin, k_length, beta, C, ldc, true, threaded);
      else
        multiply(k_begin, k_length, T(0), partial + (part - 1) * M * N, N, false, threaded);
    }
  });
  parallel::parallel_for(0, M, parallel::rows_grain(N * (part_count - 1)), [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t row = first; row < last; ++row) {
      T* c_row = C + row * ldc;
      for (std::int64_t part = 1; part < part_count; ++part) {
        const T* p_row = partial + (part - 1) * M * N + row * N;
        for (std::int64_t column = 0; column < N; ++column) c_row[column] += p_row[column];
      }
    }
  });
}

}  // namespace sf::kernels::gemm_detail
