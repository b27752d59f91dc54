// What the local-attention forward (local_attention.cpp) and backward
// (local_attention_backward.cpp) kernels share: the band's vector layout, the transposed copy of
// keys or values the band is vectorized over, and a row update. Internal to core/src/kernels.
#pragma once

#include <algorithm>
#include <cstdint>

#include "gemm_packing.hpp"  // transpose_in_registers
#include "sf/core/kernels/local_attention.hpp"
#include "sf/core/kernels/simd.hpp"

namespace sf::kernels::local_attention_detail {

using simd::Batch;

// Bands wider than this many vectors (129+ floats, 65+ doubles) use the reference kernel.
constexpr std::int64_t kMaxBandBatches = 8;
// Query rows per block: the forward's scores and the backward's dp, four FMA chains per vector.
constexpr int kRowBlock = 4;

template <class T>
struct BandLayout {
  std::int64_t band, batches, padded_band, columns;
  explicit BandLayout(const LocalAttentionShape& shape)
      : band(shape.band()),
        batches((shape.band() + simd::lanes<T> - 1) / simd::lanes<T>),
        padded_band(batches * simd::lanes<T>),
        columns(shape.length + batches * simd::lanes<T>) {}
};

// transposed[d · columns + j + w] = rows[j · row_step + d] for j in [0, L) (row_step: elements
// from one row to the next, shape.row_step()); every other column is 0.
// Blocks of lanes × lanes go through an in-register transpose (the GEMM's packing has one)
// when Dh is a multiple of the vector width; the rest element by element.
template <class T>
inline void transpose_rows(const T* rows, const LocalAttentionShape& shape, std::int64_t columns, T* transposed) {
  const std::int64_t L = shape.length, Dh = shape.head_dimension, W = shape.window, step = shape.row_step();
  constexpr std::int64_t lanes = simd::lanes<T>;
  for (std::int64_t d = 0; d < Dh; ++d) {  // the padding columns
    std::fill(transposed + d * columns, transposed + d * columns + W, T(0));
    std::fill(transposed + d * columns + W + L, transposed + (d + 1) * columns, T(0));
  }
  std::int64_t j = 0;
  if (Dh % lanes == 0) {
    for (; j + lanes <= L; j += lanes)
      for (std::int64_t d0 = 0; d0 < Dh; d0 += lanes) {
        Batch<T> block[lanes];
#pragma GCC unroll 16
        for (std::int64_t r = 0; r < lanes; ++r) block[r] = Batch<T>::load_unaligned(rows + (j + r) * step + d0);
        gemm_detail::transpose_in_registers<T>(block);
#pragma GCC unroll 16
        for (std::int64_t r = 0; r < lanes; ++r) block[r].store_unaligned(transposed + (d0 + r) * columns + j + W);
      }
  }
  for (; j < L; ++j)
    for (std::int64_t d = 0; d < Dh; ++d) transposed[d * columns + j + W] = rows[j * step + d];
}

// row[0 … Dh) += factor · source[0 … Dh), vectorized over the features.
template <class T>
inline void add_scaled_row(T* row, T factor, const T* source, std::int64_t Dh) {
  const Batch<T> scaled(factor);
  simd::for_each_batch<T>(0, Dh, [&](std::int64_t d, std::int64_t valid) {
    simd::store<T>(xsimd::fma(scaled, simd::load<T>(source + d, valid), simd::load<T>(row + d, valid)), row + d, valid);
  });
}

}  // namespace sf::kernels::local_attention_detail
