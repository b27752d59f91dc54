// Local (banded) attention kernels (contract in local_attention.hpp).
//
// Fast forward, for each (batch, head) pair and each query row i:
//   scores   s[o] = scale · q_i · k_{i+o-w} + β[o]   vectorized over the band o: the keys are
//            first copied transposed, kᵀ[d][c] = k[c - w][d] (zero outside the sequence), so
//            s[o0 … o0+lanes) = Σ_d q_i[d] · kᵀ[d][i+o0 … i+o0+lanes) is one FMA per d and vector;
//   mask     lanes past the band, keys outside the sequence and padding keys get -inf;
//   softmax  over the band lanes (one horizontal max and sum per row);
//   output   o_i = Σ_o p[o] v_{i+o-w}, vectorized over the Dh features.
// Rows go in blocks of four (forward_row_blocks): four rows' score sums are independent FMA
// chains, and each output vector is summed in a register over the band; the rows left over,
// and bands wider than four vectors, go one at a time (forward_row), with the same bits.
// The backward is in local_attention_backward.cpp; what both use, in local_attention_internal.hpp.

// GCC 12 flags the _mm512_undefined_pd() that the float64 AVX-512 permute and reduce intrinsics
// start from as maybe-uninitialized once they are inlined here (transpose_rows, from the
// internal header, included below): a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "sf/core/kernels/local_attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "local_attention_internal.hpp"
#include "sf/core/error.hpp"

namespace sf::kernels {
namespace {

using local_attention_detail::add_scaled_row;
using local_attention_detail::BandLayout;
using local_attention_detail::kMaxBandBatches;
using local_attention_detail::kRowBlock;
using local_attention_detail::transpose_rows;
using simd::Batch;

// What the forward kernel of one (batch, head) pair reads and writes, for the row functions.
template <class T>
struct RowContext {
  const BandLayout<T>& layout;
  const T* q;                // [L, Dh], rows `step` apart
  const T* v;                // [L, Dh], rows `step` apart
  const T* keys_transposed;  // [Dh, columns]
  const T* visible;          // [columns]: 1 where key column - w exists and is not padding
  const T* row_bias;         // [padded_band]: β, then -inf past the band
  T* probabilities;          // [L, band]
  T* output;                 // [L, Dh], rows `step` apart
  std::int64_t Dh, W, step;
  T scale;
};

// Masked, scaled scores -> softmax probabilities in place; false when no key is visible.
template <class T, int batches>
inline bool band_softmax(const RowContext<T>& c, std::int64_t i, Batch<T>* scores) {
  constexpr T minus_infinity = -std::numeric_limits<T>::infinity();
  constexpr std::int64_t lanes = simd::lanes<T>;
  Batch<T> maximum(minus_infinity);
  for (int t = 0; t < batches; ++t) {
    const Batch<T> score = xsimd::fma(scores[t], Batch<T>(c.scale), Batch<T>::load_aligned(c.row_bias + t * lanes));
    const auto seen = Batch<T>::load_unaligned(c.visible + i + t * lanes) != Batch<T>(T(0));
    scores[t] = xsimd::select(seen, score, Batch<T>(minus_infinity));
    maximum = xsimd::max(maximum, scores[t]);
  }
  const T row_maximum = simd::horizontal_max(maximum);
  if (row_maximum == minus_infinity) return false;
  Batch<T> total(T(0));
  for (int t = 0; t < batches; ++t) {
    scores[t] = xsimd::exp(scores[t] - Batch<T>(row_maximum));
    total += scores[t];
  }
  const Batch<T> inverse(T(1) / simd::horizontal_sum(total));
  for (int t = 0; t < batches; ++t) scores[t] = scores[t] * inverse;
  return true;
}

// One query row at a time (the rows after the last full block, and bands over 4 vectors).
template <class T>
void forward_row(const RowContext<T>& c, std::int64_t i, T* row_probabilities) {
  const std::int64_t lanes = simd::lanes<T>, batches = c.layout.batches, band = c.layout.band, Dh = c.Dh;
  Batch<T> scores[kMaxBandBatches];
  for (std::int64_t t = 0; t < batches; ++t) scores[t] = Batch<T>(T(0));
  const T* key_column = c.keys_transposed + i;
  for (std::int64_t d = 0; d < Dh; ++d) {
    const Batch<T> query(c.q[i * c.step + d]);
    const T* keys = key_column + d * c.layout.columns;
    for (std::int64_t t = 0; t < batches; ++t)
      scores[t] = xsimd::fma(query, Batch<T>::load_unaligned(keys + t * lanes), scores[t]);
  }
  bool any_visible = false;
  switch (batches) {  // the softmax with the band's vector count known at compile time
#define SF_BAND_CASE(count) \
  case count: any_visible = band_softmax<T, count>(c, i, scores); break;
    SF_BAND_CASE(1) SF_BAND_CASE(2) SF_BAND_CASE(3) SF_BAND_CASE(4)
    SF_BAND_CASE(5) SF_BAND_CASE(6) SF_BAND_CASE(7) SF_BAND_CASE(8)
#undef SF_BAND_CASE
  }
  T* out = c.output + i * c.step;
  if (!any_visible) {  // no visible key: zeros
    std::fill(c.probabilities + i * band, c.probabilities + (i + 1) * band, T(0));
    std::fill(out, out + Dh, T(0));
    return;
  }
  for (std::int64_t t = 0; t < batches; ++t) scores[t].store_aligned(row_probabilities + t * lanes);
  std::copy(row_probabilities, row_probabilities + band, c.probabilities + i * band);
  std::fill(out, out + Dh, T(0));
  for (std::int64_t o = 0; o < band; ++o)
    if (row_probabilities[o] != T(0)) add_scaled_row(out, row_probabilities[o], c.v + (i + o - c.W) * c.step, Dh);
}

// kRowBlock query rows at a time, the band's vector count a template parameter: the score
// sums of the rows are independent FMA chains (one row alone waits on FMA latency, Dh steps
// long), and each output feature vector of the rows is summed in a register over the band
// instead of being stored and reloaded per key. Same operations in the same order as
// forward_row, so the same bits.
template <class T, int batches>
std::int64_t forward_row_blocks_for(const RowContext<T>& c, std::int64_t L) {
  constexpr std::int64_t lanes = simd::lanes<T>;
  const std::int64_t Dh = c.Dh, band = c.layout.band, columns = c.layout.columns;
  alignas(64) T probabilities[kRowBlock][batches * lanes];
  std::int64_t i0 = 0;
  for (; i0 + kRowBlock <= L; i0 += kRowBlock) {
    Batch<T> scores[kRowBlock][batches];
#pragma GCC unroll 4
    for (int r = 0; r < kRowBlock; ++r)
      for (int t = 0; t < batches; ++t) scores[r][t] = Batch<T>(T(0));
    for (std::int64_t d = 0; d < Dh; ++d) {
      const T* keys = c.keys_transposed + d * columns + i0;
#pragma GCC unroll 4
      for (int r = 0; r < kRowBlock; ++r) {
        const Batch<T> query(c.q[(i0 + r) * c.step + d]);
#pragma GCC unroll 4
        for (int t = 0; t < batches; ++t)
          scores[r][t] = xsimd::fma(query, Batch<T>::load_unaligned(keys + r + t * lanes), scores[r][t]);
      }
    }
    bool visible[kRowBlock];
    for (int r = 0; r < kRowBlock; ++r) {
      const std::int64_t i = i0 + r;
      visible[r] = band_softmax<T, batches>(c, i, scores[r]);
      for (int t = 0; t < batches; ++t)
        (visible[r] ? scores[r][t] : Batch<T>(T(0))).store_aligned(probabilities[r] + t * lanes);
      std::copy(probabilities[r], probabilities[r] + band, c.probabilities + i * band);
    }
    // Rows with no visible key get all-zero probabilities, hence a zero output.
    for (std::int64_t f = 0; f < Dh; f += lanes) {
      const std::int64_t valid = std::min(lanes, Dh - f);
      Batch<T> sums[kRowBlock];
#pragma GCC unroll 4
      for (int r = 0; r < kRowBlock; ++r) sums[r] = Batch<T>(T(0));
      for (std::int64_t o = 0; o < band; ++o)
#pragma GCC unroll 4
        for (int r = 0; r < kRowBlock; ++r) {
          const T p = probabilities[r][o];
          if (p != T(0))
            sums[r] = xsimd::fma(Batch<T>(p), simd::load<T>(c.v + (i0 + r + o - c.W) * c.step + f, valid), sums[r]);
        }
#pragma GCC unroll 4
      for (int r = 0; r < kRowBlock; ++r) simd::store<T>(sums[r], c.output + (i0 + r) * c.step + f, valid);
    }
  }
  return i0;
}

// Runs the blocks for the pair's band width; returns the first row left to forward_row.
template <class T>
std::int64_t forward_row_blocks(const RowContext<T>& c, std::int64_t L) {
  switch (c.layout.batches) {
    case 1: return forward_row_blocks_for<T, 1>(c, L);
    case 2: return forward_row_blocks_for<T, 2>(c, L);
    case 3: return forward_row_blocks_for<T, 3>(c, L);
    case 4: return forward_row_blocks_for<T, 4>(c, L);
    default: return 0;  // wider bands: one row at a time
  }
}

}  // namespace

template <class T>
void local_attention_forward(const LocalAttentionShape& shape, const T* q, const T* k, const T* v, const T* bias,
                             const T* key_keep, T scale, T* probabilities, T* output) {
  const BandLayout<T> layout(shape);
  if (layout.batches > kMaxBandBatches) {
    local_attention_forward_reference(shape, q, k, v, bias, key_keep, scale, probabilities, output);
    return;
  }
  const std::int64_t L = shape.length, Dh = shape.head_dimension, W = shape.window;
  constexpr T minus_infinity = -std::numeric_limits<T>::infinity();
  parallel::parallel_for(0, shape.pairs(), 1, [&](std::int64_t first, std::int64_t last) {
    std::vector<T> keys_transposed(static_cast<std::size_t>(Dh * layout.columns));
    std::vector<T> visible(static_cast<std::size_t>(layout.columns));
    alignas(64) T row_bias[kMaxBandBatches * simd::lanes<T>];
    alignas(64) T row_probabilities[kMaxBandBatches * simd::lanes<T>];
    for (std::int64_t pair = first; pair < last; ++pair) {
      const std::int64_t b = pair / shape.heads, h = pair % shape.heads;
      const T* qh = q + shape.pair_offset(pair);
      const T* vh = v + shape.pair_offset(pair);
      T* ph = probabilities + pair * L * layout.band;
      T* oh = output + shape.pair_offset(pair);
      transpose_rows(k + shape.pair_offset(pair), shape, layout.columns, keys_transposed.data());
      for (std::int64_t column = 0; column < layout.columns; ++column) {
        const std::int64_t j = column - W;
        visible[static_cast<std::size_t>(column)] =
            (j >= 0 && j < L && (!key_keep || key_keep[b * L + j] != T(0))) ? T(1) : T(0);
      }
      for (std::int64_t o = 0; o < layout.padded_band; ++o)
        row_bias[o] = o >= layout.band ? minus_infinity : bias ? bias[h * layout.band + o] : T(0);

      const RowContext<T> context{layout, qh, vh, keys_transposed.data(), visible.data(), row_bias, ph, oh,
                                  Dh,     W,  shape.row_step(), scale};
      for (std::int64_t i = forward_row_blocks(context, L); i < L; ++i) forward_row(context, i, row_probabilities);
    }
  });
}

// ---- references: naive scalar loops, double accumulators -------------------------------------

template <class T>
void local_attention_forward_reference(const LocalAttentionShape& shape, const T* q, const T* k, const T* v,
                                       const T* bias, const T* key_keep, T scale, T* probabilities, T* output) {
  const std::int64_t L = shape.length, Dh = shape.head_dimension, W = shape.window, band = shape.band();
  const std::int64_t step = shape.row_step();
  std::vector<double> scores(static_cast<std::size_t>(band));
  for (std::int64_t pair = 0; pair < shape.pairs(); ++pair) {
    const std::int64_t b = pair / shape.heads, h = pair % shape.heads;
    const T* qh = q + shape.pair_offset(pair);
    const T* kh = k + shape.pair_offset(pair);
    const T* vh = v + shape.pair_offset(pair);
    T* ph = probabilities + pair * L * band;
    T* oh = output + shape.pair_offset(pair);
    for (std::int64_t i = 0; i < L; ++i) {
      double maximum = -std::numeric_limits<double>::infinity();
      for (std::int64_t o = 0; o < band; ++o) {
        const std::int64_t j = i + o - W;
        double score = -std::numeric_limits<double>::infinity();
        if (j >= 0 && j < L && (!key_keep || key_keep[b * L + j] != T(0))) {
          double dot = 0.0;
          for (std::int64_t d = 0; d < Dh; ++d) dot += static_cast<double>(qh[i * step + d]) * kh[j * step + d];
          score = static_cast<double>(scale) * dot + (bias ? static_cast<double>(bias[h * band + o]) : 0.0);
        }
        scores[static_cast<std::size_t>(o)] = score;
        maximum = std::max(maximum, score);
      }
      double total = 0.0;
      for (double& score : scores) {
        score = std::isinf(maximum) ? 0.0 : std::exp(score - maximum);
        total += score;
      }
      for (std::int64_t d = 0; d < Dh; ++d) {
        double sum = 0.0;
        for (std::int64_t o = 0; o < band; ++o) {
          const double p = total > 0.0 ? scores[static_cast<std::size_t>(o)] / total : 0.0;
          if (p != 0.0) sum += p * vh[(i + o - W) * step + d];
        }
        oh[i * step + d] = static_cast<T>(sum);
      }
      for (std::int64_t o = 0; o < band; ++o)
        ph[i * band + o] = static_cast<T>(total > 0.0 ? scores[static_cast<std::size_t>(o)] / total : 0.0);
    }
  }
}

template <class T>
void local_attention_backward_reference(const LocalAttentionShape& shape, const T* q, const T* k, const T* v,
                                        const T* probabilities, const T* grad_output, T scale, T* grad_q, T* grad_k,
                                        T* grad_v, T* grad_bias_per_pair) {
  if (shape.token_major) fail("local_attention_backward_reference: takes [B, H, L, Dh] rows, not token-major ones");
  const std::int64_t L = shape.length, Dh = shape.head_dimension, W = shape.window, band = shape.band();
  std::vector<double> grad_scores(static_cast<std::size_t>(band));
  std::vector<double> dq(static_cast<std::size_t>(L * Dh)), dk(dq.size()), dv(dq.size()), dbias(grad_scores.size());
  for (std::int64_t pair = 0; pair < shape.pairs(); ++pair) {
    const T* qh = q + pair * L * Dh;
    const T* kh = k + pair * L * Dh;
    const T* vh = v + pair * L * Dh;
    const T* ph = probabilities + pair * L * band;
    const T* gh = grad_output + pair * L * Dh;
    std::fill(dq.begin(), dq.end(), 0.0);
    std::fill(dk.begin(), dk.end(), 0.0);
    std::fill(dv.begin(), dv.end(), 0.0);
    std::fill(dbias.begin(), dbias.end(), 0.0);
    for (std::int64_t i = 0; i < L; ++i) {
      double weighted = 0.0;
      for (std::int64_t o = 0; o < band; ++o) {
        const double p = ph[i * band + o];
        double dp = 0.0;
        if (p != 0.0)
          for (std::int64_t d = 0; d < Dh; ++d) {
            const std::int64_t j = i + o - W;
            dp += static_cast<double>(gh[i * Dh + d]) * vh[j * Dh + d];
            dv[static_cast<std::size_t>(j * Dh + d)] += p * gh[i * Dh + d];
          }
        grad_scores[static_cast<std::size_t>(o)] = dp;
        weighted += p * dp;
      }
      for (std::int64_t o = 0; o < band; ++o) {
        const double p = ph[i * band + o];
        if (p == 0.0) continue;
        const double ds = p * (grad_scores[static_cast<std::size_t>(o)] - weighted);
        const std::int64_t j = i + o - W;
        dbias[static_cast<std::size_t>(o)] += ds;
        for (std::int64_t d = 0; d < Dh; ++d) {
          dq[static_cast<std::size_t>(i * Dh + d)] += static_cast<double>(scale) * ds * kh[j * Dh + d];
          dk[static_cast<std::size_t>(j * Dh + d)] += static_cast<double>(scale) * ds * qh[i * Dh + d];
        }
      }
    }
    for (std::int64_t index = 0; index < L * Dh; ++index) {
      grad_q[pair * L * Dh + index] = static_cast<T>(dq[static_cast<std::size_t>(index)]);
      grad_k[pair * L * Dh + index] = static_cast<T>(dk[static_cast<std::size_t>(index)]);
      grad_v[pair * L * Dh + index] = static_cast<T>(dv[static_cast<std::size_t>(index)]);
    }
    for (std::int64_t o = 0; o < band; ++o) grad_bias_per_pair[pair * band + o] = static_cast<T>(dbias[static_cast<std::size_t>(o)]);
  }
}

#define SF_INSTANTIATE_LOCAL_ATTENTION(T)                                                                              \
  template void local_attention_forward<T>(const LocalAttentionShape&, const T*, const T*, const T*, const T*,       \
                                           const T*, T, T*, T*);                                                       \
  template void local_attention_forward_reference<T>(const LocalAttentionShape&, const T*, const T*, const T*,       \
                                                     const T*, const T*, T, T*, T*);                                   \
  template void local_attention_backward_reference<T>(const LocalAttentionShape&, const T*, const T*, const T*,      \
                                                      const T*, const T*, T, T*, T*, T*, T*);
SF_INSTANTIATE_LOCAL_ATTENTION(float)
SF_INSTANTIATE_LOCAL_ATTENTION(double)
#undef SF_INSTANTIATE_LOCAL_ATTENTION

}  // namespace sf::kernels

#pragma GCC diagnostic pop
