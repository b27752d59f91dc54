// The MR × NR micro-kernel of the GEMM (internal to core/src/kernels).
//
//   C tile [rows, NR] = alpha · Σ_k a(:, k) · b(k, :)  +  beta · C tile        (rows ≤ MR)
//   or, given a bias row (beta must then be 0):  alpha · Σ_k a(:, k) · b(k, :)  +  bias
//     a: A micro-panel, element (i, k) at a[k · a_step + i]   (a_step = MR when packed), or,
//        with rows_a, A read in place: element (i, k) at a[i · a_step + k]   (a_step = lda)
//     b: B micro-panel, element (k, j) at b[k · b_step + j]   (b_step = NR when packed)
//     c: C tile,        element (i, j) at c[i · ldc + j]
//
// The C tile lives in 2·rows xsimd accumulators (NR = 2 vectors) for all kc steps; each step
// loads two vectors of B, broadcasts one value of A per row and does 2·rows FMAs. beta == 0
// never reads C. Every element of C goes through the same operations whatever `rows` is (one
// FMA chain over k, then fma(alpha, sum, beta·c)), which is what makes tiles interchangeable
// between threads and the results bit-identical for any thread count.
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "sf/core/kernels/gemm_config.hpp"

namespace sf::kernels::gemm_detail {

template <class T>
using Blocking = gemm_config::Blocking<T>;

// How far ahead (in k steps) the kernel prefetches the A and B micro-panels.
inline constexpr std::int64_t prefetch_distance = 8;

template <class T, int rows, bool rows_a>
void micro_kernel(std::int64_t kc, const T* a, std::int64_t a_step, const T* b, std::int64_t b_step, T alpha,
                  T beta, T* c, std::int64_t ldc, const T* bias) {
  using Batch = xsimd::batch<T>;
  constexpr std::int64_t lanes = Blocking<T>::lanes;
  static_assert(Blocking<T>::NR == 2 * lanes, "the micro-kernel holds NR as two vectors");
  Batch left[rows], right[rows];  // columns [0, lanes) and [lanes, NR) of the tile
#pragma GCC unroll 16
  for (int row = 0; row < rows; ++row) {
    left[row] = Batch(T(0));
    right[row] = Batch(T(0));
    __builtin_prefetch(c + row * ldc, 1);
    __builtin_prefetch(c + row * ldc + lanes, 1);
  }
#pragma GCC unroll 4
  for (std::int64_t k = 0; k < kc; ++k) {
    __builtin_prefetch(b + prefetch_distance * b_step);
    if constexpr (!rows_a) __builtin_prefetch(a + prefetch_distance * a_step);
    const Batch b_left = Batch::load_unaligned(b);
    const Batch b_right = Batch::load_unaligned(b + lanes);
#pragma GCC unroll 16
    for (int row = 0; row < rows; ++row) {
      const Batch a_value(rows_a ? a[row * a_step] : a[row]);
      left[row] = xsimd::fma(a_value, b_left, left[row]);
      right[row] = xsimd::fma(a_value, b_right, right[row]);
    }
    a += rows_a ? 1 : a_step;
    b += b_step;
  }
  const Batch alpha_vector(alpha);
  if (bias != nullptr) {  // beta == 0 (gemm_with_bias): alpha · sum + bias, C not read
    const Batch bias_left = Batch::load_unaligned(bias), bias_right = Batch::load_unaligned(bias + lanes);
#pragma GCC unroll 16
    for (int row = 0; row < rows; ++row) {
      xsimd::fma(alpha_vector, left[row], bias_left).store_unaligned(c + row * ldc);
      xsimd::fma(alpha_vector, right[row], bias_right).store_unaligned(c + row * ldc + lanes);
    }
  } else if (beta == T(0)) {
#pragma GCC unroll 16
    for (int row = 0; row < rows; ++row) {
      (alpha_vector * left[row]).store_unaligned(c + row * ldc);
      (alpha_vector * right[row]).store_unaligned(c + row * ldc + lanes);
    }
  } else {
    const Batch beta_vector(beta);
#pragma GCC unroll 16
    for (int row = 0; row < rows; ++row) {
      T* c_row = c + row * ldc;
      xsimd::fma(alpha_vector, left[row], beta_vector * Batch::load_unaligned(c_row)).store_unaligned(c_row);
      xsimd::fma(alpha_vector, right[row], beta_vector * Batch::load_unaligned(c_row + lanes))
          .store_unaligned(c_row + lanes);
    }
  }
}

template <class T>
using MicroKernel = void (*)(std::int64_t, const T*, std::int64_t, const T*, std::int64_t, T, T, T*, std::int64_t,
                             const T*);

// kernels[rows - 1] = micro_kernel<T, rows>: the bottom edge of C (rows < MR) runs a kernel
// with fewer accumulators instead of multiplying the zero padding of the packed A block.
template <class T, bool rows_a, std::size_t... row_indices>
constexpr std::array<MicroKernel<T>, sizeof...(row_indices)> make_kernel_table(
    std::index_sequence<row_indices...>) {
  return {&micro_kernel<T, static_cast<int>(row_indices) + 1, rows_a>...};
}
template <class T, bool rows_a>
inline constexpr auto kernel_table =
    make_kernel_table<T, rows_a>(std::make_index_sequence<static_cast<std::size_t>(Blocking<T>::MR)>());

// One tile of C with rows ≤ MR and columns ≤ NR. A tile narrower than NR (the right edge of C)
// goes through a small NR-wide buffer so the kernel always writes full vectors; the B
// micro-panel is zero-padded to NR columns by the packing.
template <class T, bool rows_a = false>
inline void compute_tile(std::int64_t rows, std::int64_t columns, std::int64_t kc, const T* a, std::int64_t a_step,
                         const T* b, std::int64_t b_step, T alpha, T beta, T* c, std::int64_t ldc,
                         const T* bias) {
  constexpr std::int64_t NR = Blocking<T>::NR;
  const MicroKernel<T> kernel = kernel_table<T, rows_a>[static_cast<std::size_t>(rows - 1)];
  if (columns == NR) {
    kernel(kc, a, a_step, b, b_step, alpha, beta, c, ldc, bias);
    return;
  }
  alignas(64) T bias_padded[NR];
  if (bias != nullptr) {
    std::memcpy(bias_padded, bias, static_cast<std::size_t>(columns) * sizeof(T));
    std::fill(bias_padded + columns, bias_padded + NR, T(0));
    bias = bias_padded;
  }
  alignas(64) T tile[Blocking<T>::MR * NR];
  if (beta != T(0)) {
    std::memset(tile, 0, sizeof(tile));
    for (std::int64_t row = 0; row < rows; ++row)
      std::memcpy(tile + row * NR, c + row * ldc, static_cast<std::size_t>(columns) * sizeof(T));
  }
  kernel(kc, a, a_step, b, b_step, alpha, beta, tile, NR, bias);
  for (std::int64_t row = 0; row < rows; ++row)
    std::memcpy(c + row * ldc, tile + row * NR, static_cast<std::size_t>(columns) * sizeof(T));
}

}  // namespace sf::kernels::gemm_detail
