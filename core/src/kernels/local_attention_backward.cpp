// The local-attention backward kernel (contract in local_attention.hpp; the math in
// autograd/src/ops/local_attention.cpp). Per (batch, head) pair, two passes:
//   1. per query row i: dp[o] = g_i · v_{i+o-w}, vectorized over the band against a transposed
//      copy of v (rows in blocks of four, as the forward's scores); ds = p ∘ (dp - Σ p∘dp),
//      dβ += ds; dq_i = Σ_o scale·ds[o]·k_{i+o-w} summed in registers;
//   2. per key row j: dk_j and dv_j summed in registers over the rows that see key j.
// Every output row is written once, and each sum adds its terms in the order the row-by-row
// form did, so the bits are those of the simple loops.

// GCC 12 flags the _mm512_undefined_pd() that the float64 AVX-512 permute and reduce intrinsics
// start from as maybe-uninitialized once they are inlined here (transpose_rows, from the
// internal header, included below): a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <vector>

#include "local_attention_internal.hpp"
#include "sf/core/error.hpp"
#include "sf/core/parallel.hpp"

namespace sf::kernels {
namespace {

using local_attention_detail::BandLayout;
using local_attention_detail::kMaxBandBatches;
using local_attention_detail::kRowBlock;
using local_attention_detail::transpose_rows;
using simd::Batch;

// row[0 … Dh) = Σ_t factors[t] · sources[t][0 … Dh), the terms in order, each feature vector an
// FMA chain in a register from 0 (the bits of adding the terms into a zeroed row one by one).
// `vectors` full vectors at a time (unrolled: Dh of 16, 32, 48 or 64 floats is one chunk), a
// partial last vector masked. (Summing two or four rows at once, for more independent chains,
// measured slower: 14.3 against 11.4 ms for bench_local_attention's backward.)
template <class T, int vectors>
[[gnu::always_inline]] inline void weighted_sum_chunk(T* row, std::int64_t width, const T* factors,
                                                      const T* const* sources, std::int64_t terms) {
  constexpr std::int64_t lanes = simd::lanes<T>;
  Batch<T> sums[vectors];
#pragma GCC unroll 4
  for (int v = 0; v < vectors; ++v) sums[v] = Batch<T>(T(0));
  for (std::int64_t t = 0; t < terms; ++t) {
    const Batch<T> factor(factors[t]);
#pragma GCC unroll 4
    for (int v = 0; v < vectors; ++v)
      sums[v] = xsimd::fma(factor, simd::load<T>(sources[t] + v * lanes, std::min(lanes, width - v * lanes)), sums[v]);
  }
#pragma GCC unroll 4
  for (int v = 0; v < vectors; ++v) simd::store<T>(sums[v], row + v * lanes, std::min(lanes, width - v * lanes));
}

template <class T>
void write_weighted_sum(T* row, std::int64_t Dh, const T* factors, const T** sources, std::int64_t terms) {
  constexpr std::int64_t lanes = simd::lanes<T>, chunk = 4 * lanes;
  for (std::int64_t d0 = 0; d0 < Dh; d0 += chunk) {
    const std::int64_t width = std::min(chunk, Dh - d0);
    switch ((width + lanes - 1) / lanes) {
      case 1: weighted_sum_chunk<T, 1>(row + d0, width, factors, sources, terms); break;
      case 2: weighted_sum_chunk<T, 2>(row + d0, width, factors, sources, terms); break;
      case 3: weighted_sum_chunk<T, 3>(row + d0, width, factors, sources, terms); break;
      default: weighted_sum_chunk<T, 4>(row + d0, width, factors, sources, terms); break;
    }
    for (std::int64_t t = 0; t < terms; ++t) sources[t] += chunk;  // the next chunk of each term's row
  }
}

// dp[r][o] = Σ_d g_{i+r}[d] · vᵀ[d][i + r + o] for `rows` consecutive query rows from i: one FMA
// chain per row and vector of the band, held in registers (`values` is vᵀ shifted to column i),
// d in order, the bits of one row at a time. Four rows give four times the independent chains.
template <class T, int batches, int rows>
void band_products(const T* g, std::int64_t Dh, const T* values, std::int64_t columns, T* dp) {
  constexpr std::int64_t lanes = simd::lanes<T>;
  Batch<T> sums[rows][batches];
  for (int r = 0; r < rows; ++r)
    for (int t = 0; t < batches; ++t) sums[r][t] = Batch<T>(T(0));
  for (std::int64_t d = 0; d < Dh; ++d) {
    const T* column = values + d * columns;
#pragma GCC unroll 4
    for (int r = 0; r < rows; ++r) {
      const Batch<T> gradient(g[r * Dh + d]);
#pragma GCC unroll 8
      for (int t = 0; t < batches; ++t)
        sums[r][t] = xsimd::fma(gradient, Batch<T>::load_unaligned(column + r + t * lanes), sums[r][t]);
    }
  }
  for (int r = 0; r < rows; ++r)
    for (int t = 0; t < batches; ++t) sums[r][t].store_aligned(dp + (r * kMaxBandBatches + t) * lanes);
}

// band_products for `rows` rows, the band's vector count a template argument: kRowBlock rows
// for bands of up to 4 vectors (more would not fit in registers), else 1.
template <class T>
void band_products_for(std::int64_t batches, int rows, const T* g, std::int64_t Dh, const T* values,
                       std::int64_t columns, T* dp) {
#define SF_BAND_CASE(count, row_count) \
  case count: band_products<T, count, row_count>(g, Dh, values, columns, dp); break;
  if (rows == kRowBlock) {
    switch (batches) { SF_BAND_CASE(1, kRowBlock) SF_BAND_CASE(2, kRowBlock) SF_BAND_CASE(3, kRowBlock)
                       SF_BAND_CASE(4, kRowBlock) }
    return;
  }
  switch (batches) {
    SF_BAND_CASE(1, 1) SF_BAND_CASE(2, 1) SF_BAND_CASE(3, 1) SF_BAND_CASE(4, 1)
    SF_BAND_CASE(5, 1) SF_BAND_CASE(6, 1) SF_BAND_CASE(7, 1) SF_BAND_CASE(8, 1)
  }
#undef SF_BAND_CASE
}

// Pass 2 for one pair: dk_j = Σ_i scale·ds_i[o]·q_i and dv_j = Σ_i p_i[o]·g_i over the query
// rows i that see key j (o = j − i + w), i ascending. scaled_ds[i·band + o] = scale·ds_i[o];
// factors and sources: room for two term lists of a band each.
template <class T>
void key_rows_backward(const T* qh, const T* gh, const T* ph, const T* scaled_ds, std::int64_t L, std::int64_t Dh,
                       std::int64_t W, std::int64_t band, T* dk, T* dv, T (*factors)[kMaxBandBatches * simd::lanes<T>],
                       const T* (*sources)[kMaxBandBatches * simd::lanes<T>]) {
  for (std::int64_t j = 0; j < L; ++j) {
    std::int64_t terms = 0;
    for (std::int64_t i = std::max<std::int64_t>(0, j - W); i <= std::min(L - 1, j + W); ++i) {
      const std::int64_t o = j - i + W;
      const T p = ph[i * band + o];
      if (p == T(0)) continue;
      factors[0][terms] = scaled_ds[i * band + o];
      sources[0][terms] = qh + i * Dh;
      factors[1][terms] = p;
      sources[1][terms++] = gh + i * Dh;
    }
    write_weighted_sum(dk + j * Dh, Dh, factors[0], sources[0], terms);
    write_weighted_sum(dv + j * Dh, Dh, factors[1], sources[1], terms);
  }
}

}  // namespace

// Two passes per pair, each writing every row of its outputs once (no read-modify-write of rows):
//   1. per query row i: dp, ds (kept, times scale, for pass 2), dβ, and dq_i = Σ_o scale·ds[o]·k_j;
//   2. per key row j: dk_j = Σ_i scale·ds_i[o]·q_i and dv_j = Σ_i p_i[o]·g_i over the rows i that
//      see j (o = j − i + w), i ascending: the order the row-by-row updates used to add them.
// Terms with p = 0 (masked keys, outside the sequence) are skipped, so an Inf there adds nothing.
template <class T>
void local_attention_backward(const LocalAttentionShape& shape, const T* q, const T* k, const T* v,
                              const T* probabilities, const T* grad_output, T scale, T* grad_q, T* grad_k, T* grad_v,
                              T* grad_bias_per_pair) {
  if (shape.token_major) fail("local_attention_backward: takes [B, H, L, Dh] rows, not token-major ones");
  const BandLayout<T> layout(shape);
  if (layout.batches > kMaxBandBatches) {
    local_attention_backward_reference(shape, q, k, v, probabilities, grad_output, scale, grad_q, grad_k, grad_v,
                                       grad_bias_per_pair);
    return;
  }
  const std::int64_t L = shape.length, Dh = shape.head_dimension, W = shape.window, lanes = simd::lanes<T>;
  const std::int64_t band = layout.band;
  parallel::parallel_for(0, shape.pairs(), 1, [&](std::int64_t first, std::int64_t last) {
    std::vector<T> values_transposed(static_cast<std::size_t>(Dh * layout.columns));
    std::vector<T> scaled_ds(static_cast<std::size_t>(L * band));
    alignas(64) T row_probabilities[kMaxBandBatches * simd::lanes<T>] = {};
    alignas(64) T block_products[kRowBlock * kMaxBandBatches * simd::lanes<T>];
    alignas(64) T row_grad_scores[kMaxBandBatches * simd::lanes<T>];
    T factors[2][kMaxBandBatches * simd::lanes<T>];
    const T* sources[2][kMaxBandBatches * simd::lanes<T>];
    for (std::int64_t pair = first; pair < last; ++pair) {
      const T* qh = q + pair * L * Dh;
      const T* kh = k + pair * L * Dh;
      const T* vh = v + pair * L * Dh;
      const T* ph = probabilities + pair * L * band;
      const T* gh = grad_output + pair * L * Dh;
      transpose_rows(vh, shape, layout.columns, values_transposed.data());
      Batch<T> grad_bias[kMaxBandBatches];
      for (std::int64_t t = 0; t < layout.batches; ++t) grad_bias[t] = Batch<T>(T(0));

      // Blocks of kRowBlock rows while the band fits in registers four times over, else single rows.
      const int block_rows = layout.batches <= 4 ? kRowBlock : 1;
      for (std::int64_t i = 0; i < L; ++i) {  // pass 1
        // dp of a whole block at its first row; the rows after the last full block one at a time.
        const std::int64_t in_block = i % block_rows;
        const bool in_full_block = block_rows > 1 && i - in_block + block_rows <= L;
        if (!in_full_block || in_block == 0)
          band_products_for<T>(layout.batches, in_full_block ? block_rows : 1, gh + i * Dh, Dh,
                               values_transposed.data() + i, layout.columns, block_products);
        const T* products = block_products + (in_full_block ? in_block : 0) * kMaxBandBatches * lanes;
        std::copy(ph + i * band, ph + (i + 1) * band, row_probabilities);
        Batch<T> grad_scores[kMaxBandBatches];
        for (std::int64_t t = 0; t < layout.batches; ++t) grad_scores[t] = Batch<T>::load_aligned(products + t * lanes);
        Batch<T> weighted(T(0));  // Σ_o p[o] dp[o]
        for (std::int64_t t = 0; t < layout.batches; ++t)
          weighted = xsimd::fma(Batch<T>::load_aligned(row_probabilities + t * lanes), grad_scores[t], weighted);
        const Batch<T> row_weighted(simd::horizontal_sum(weighted));
        for (std::int64_t t = 0; t < layout.batches; ++t) {
          const Batch<T> ds = Batch<T>::load_aligned(row_probabilities + t * lanes) * (grad_scores[t] - row_weighted);
          grad_bias[t] += ds;
          ds.store_aligned(row_grad_scores + t * lanes);
        }
        std::int64_t terms = 0;
        for (std::int64_t o = 0; o < band; ++o) {
          const T scaled = scale * row_grad_scores[o];
          scaled_ds[static_cast<std::size_t>(i * band + o)] = scaled;
          if (row_probabilities[o] == T(0)) continue;
          factors[0][terms] = scaled;
          sources[0][terms++] = kh + (i + o - W) * Dh;
        }
        write_weighted_sum(grad_q + pair * L * Dh + i * Dh, Dh, factors[0], sources[0], terms);
      }
      key_rows_backward(qh, gh, ph, scaled_ds.data(), L, Dh, W, band, grad_k + pair * L * Dh, grad_v + pair * L * Dh,
                        factors, sources);  // pass 2
      alignas(64) T bias_row[kMaxBandBatches * simd::lanes<T>];
      for (std::int64_t t = 0; t < layout.batches; ++t) grad_bias[t].store_aligned(bias_row + t * lanes);
      std::copy(bias_row, bias_row + band, grad_bias_per_pair + pair * band);
    }
  });
}

template void local_attention_backward<float>(const LocalAttentionShape&, const float*, const float*, const float*,
                                              const float*, const float*, float, float*, float*, float*, float*);
template void local_attention_backward<double>(const LocalAttentionShape&, const double*, const double*,
                                               const double*, const double*, const double*, double, double*, double*,
                                               double*, double*);

}  // namespace sf::kernels

#pragma GCC diagnostic pop
