// Layer norm forward and backward over rows; see kernels/layer_norm.hpp for the derivation.
#include "sf/core/kernels/layer_norm.hpp"

#include <algorithm>
#include <cmath>

#include "sf/core/kernels/simd.hpp"
#include "sf/core/parallel.hpp"

namespace sf::kernels {
namespace {

using simd::Batch;

// Rows per chunk of the grad_w / grad_b partial sums. It depends on D only, never on the
// thread count, which is what makes the combined sums reproducible.
std::int64_t rows_per_chunk(std::int64_t D) {
  return std::max<std::int64_t>(1, parallel::grain::reduction / std::max<std::int64_t>(D, 1));
}

// body(w) with w the weight as a simd operand: the array, or the constant 1 when absent.
template <class T, class Body>
void with_weight(const T* weight, Body&& body) {
  static constexpr T unit = T(1);
  simd::with_operand(weight ? weight : &unit, weight ? 1 : 0, body);
}

}  // namespace

template <class T>
void layer_norm(const T* x, const T* weight, const T* bias, std::int64_t rows, std::int64_t D, T eps, T* y, T* mean,
                T* inverse_std) {
  static constexpr T zero = T(0);
  with_weight(weight, [&](const auto& weight_operand) {
    simd::with_operand(bias ? bias : &zero, bias ? 1 : 0, [&](const auto& bias_operand) {
      parallel::parallel_for(0, rows, parallel::rows_grain(D), [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t row = first; row < last; ++row) {
          const T* input = x + row * D;
          const T mu = simd::sum(input, D) / static_cast<T>(D);
          const Batch<T> centre(mu);
          const T variance = simd::horizontal_sum(simd::accumulate<T>(D, [&](std::int64_t index, std::int64_t valid) {
                               const Batch<T> deviation = simd::zero_padding(simd::load(input + index, valid) - centre, valid);
                               return deviation * deviation;
                             })) /
                             static_cast<T>(D);
          const T r = T(1) / std::sqrt(variance + eps);
          mean[row] = mu;
          inverse_std[row] = r;
          const Batch<T> scale(r);
          simd::map_range(
              y + row * D, 0, D,
              [&](const Batch<T>& value, const Batch<T>& w, const Batch<T>& b) {
                return xsimd::fma((value - centre) * scale, w, b);
              },
              simd::Contiguous<T>{input}, weight_operand, bias_operand);
        }
      });
    });
  });
}

template <class T>
void layer_norm_reference(const T* x, const T* weight, const T* bias, std::int64_t rows, std::int64_t D, T eps, T* y,
                          T* mean, T* inverse_std) {
  for (std::int64_t row = 0; row < rows; ++row) {
    const T* input = x + row * D;
    T total = T(0);
    for (std::int64_t j = 0; j < D; ++j) total += input[j];
    const T mu = total / static_cast<T>(D);
    T squares = T(0);
    for (std::int64_t j = 0; j < D; ++j) squares += (input[j] - mu) * (input[j] - mu);
    const T r = T(1) / std::sqrt(squares / static_cast<T>(D) + eps);
    mean[row] = mu;
    inverse_std[row] = r;
    for (std::int64_t j = 0; j < D; ++j)
      y[row * D + j] = (input[j] - mu) * r * (weight ? weight[j] : T(1)) + (bias ? bias[j] : T(0));
  }
}

std::int64_t layer_norm_backward_workspace_size(std::int64_t rows, std::int64_t D) {
  const std::int64_t chunk = rows_per_chunk(D);
  return (rows + chunk - 1) / chunk * 2 * D;
}

template <class T>
void layer_norm_backward(const T* grad_y, const T* x, const T* mean, const T* inverse_std, const T* weight,
                         std::int64_t rows, std::int64_t D, T* grad_x, T* grad_weight, T* grad_bias, T* workspace) {
  const bool want_parameters = grad_weight != nullptr || grad_bias != nullptr;
  const std::int64_t chunk = rows_per_chunk(D);
  const std::int64_t chunks = (rows + chunk - 1) / chunk;
  const T inverse_D = T(1) / static_cast<T>(D);
  with_weight(weight, [&](const auto& weight_operand) {
    parallel::parallel_for(0, chunks, 1, [&](std::int64_t first_chunk, std::int64_t last_chunk) {
      for (std::int64_t chunk_index = first_chunk; chunk_index < last_chunk; ++chunk_index) {
        // This chunk's partial Σ grad_y x̂ (first D entries) and Σ grad_y (next D).
        T* partial_weight = want_parameters ? workspace + chunk_index * 2 * D : nullptr;
        T* partial_bias = want_parameters ? partial_weight + D : nullptr;
        if (want_parameters) std::fill(partial_weight, partial_weight + 2 * D, T(0));
        const std::int64_t row_end = std::min(rows, (chunk_index + 1) * chunk);
        for (std::int64_t row = chunk_index * chunk; row < row_end; ++row) {
          const T* input = x + row * D;
          const T* upstream = grad_y + row * D;
          const Batch<T> centre(mean[row]), scale(inverse_std[row]);
          // Pass 1: Σ ĝ and Σ ĝ x̂ (padded lanes have grad_y = 0, so they add nothing).
          Batch<T> sum_g_hat(T(0)), sum_g_hat_x_hat(T(0));
          simd::for_each_batch<T>(0, D, [&](std::int64_t index, std::int64_t valid) {
            const Batch<T> g = simd::load(upstream + index, valid);
            const Batch<T> x_hat = (simd::load(input + index, valid) - centre) * scale;
            const Batch<T> g_hat = g * weight_operand.load_at(index, valid);
            sum_g_hat += g_hat;
            sum_g_hat_x_hat += g_hat * x_hat;
            if (want_parameters) {
              simd::store(xsimd::fma(g, x_hat, simd::load(partial_weight + index, valid)), partial_weight + index, valid);
              simd::store(simd::load(partial_bias + index, valid) + g, partial_bias + index, valid);
            }
          });
          const Batch<T> mean_g_hat(simd::horizontal_sum(sum_g_hat) * inverse_D);
          const Batch<T> mean_g_hat_x_hat(simd::horizontal_sum(sum_g_hat_x_hat) * inverse_D);
          // Pass 2: grad_x = r (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)).
          simd::map_range(
              grad_x + row * D, 0, D,
              [&](const Batch<T>& value, const Batch<T>& g, const Batch<T>& w) {
                const Batch<T> x_hat = (value - centre) * scale;
                return scale * (g * w - mean_g_hat - x_hat * mean_g_hat_x_hat);
              },
              simd::Contiguous<T>{input}, simd::Contiguous<T>{upstream}, weight_operand);
        }
      }
    });
  });
  if (!want_parameters) return;
  // Combine the chunk partials in chunk order, in parallel over column blocks.
  const std::int64_t block = 4 * simd::lanes<T>;
  const std::int64_t blocks = (D + block - 1) / block;
  parallel::parallel_for(0, blocks, parallel::rows_grain(chunks * block), [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t block_index = first; block_index < last; ++block_index) {
      const std::int64_t column_end = std::min(D, (block_index + 1) * block);
      simd::for_each_batch<T>(block_index * block, column_end, [&](std::int64_t index, std::int64_t valid) {
        Batch<T> weight_total(T(0)), bias_total(T(0));
        for (std::int64_t chunk_index = 0; chunk_index < chunks; ++chunk_index) {
          weight_total += simd::load(workspace + chunk_index * 2 * D + index, valid);
          bias_total += simd::load(workspace + chunk_index * 2 * D + D + index, valid);
        }
        if (grad_weight) simd::store(weight_total, grad_weight + index, valid);
        if (grad_bias) simd::store(bias_total, grad_bias + index, valid);
      });
    }
  });
}

template <class T>
void layer_norm_backward_reference(const T* grad_y, const T* x, const T* mean, const T* inverse_std, const T* weight,
                                   std::int64_t rows, std::int64_t D, T* grad_x, T* grad_weight, T* grad_bias) {
  if (grad_weight) std::fill(grad_weight, grad_weight + D, T(0));
  if (grad_bias) std::fill(grad_bias, grad_bias + D, T(0));
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int64_t base = row * D;
    T sum_g_hat = T(0), sum_g_hat_x_hat = T(0);
    for (std::int64_t j = 0; j < D; ++j) {
      const T x_hat = (x[base + j] - mean[row]) * inverse_std[row];
      const T g_hat = grad_y[base + j] * (weight ? weight[j] : T(1));
      sum_g_hat += g_hat;
      sum_g_hat_x_hat += g_hat * x_hat;
      if (grad_weight) grad_weight[j] += grad_y[base + j] * x_hat;
      if (grad_bias) grad_bias[j] += grad_y[base + j];
    }
    for (std::int64_t j = 0; j < D; ++j) {
      const T x_hat = (x[base + j] - mean[row]) * inverse_std[row];
      const T g_hat = grad_y[base + j] * (weight ? weight[j] : T(1));
      grad_x[base + j] = inverse_std[row] * (g_hat - sum_g_hat / static_cast<T>(D) - x_hat * sum_g_hat_x_hat / static_cast<T>(D));
    }
  }
}

#define SF_INSTANTIATE(T)                                                                                         \
  template void layer_norm<T>(const T*, const T*, const T*, std::int64_t, std::int64_t, T, T*, T*, T*);           \
  template void layer_norm_reference<T>(const T*, const T*, const T*, std::int64_t, std::int64_t, T, T*, T*, T*); \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, std::int64_t,            \
                                       std::int64_t, T*, T*, T*, T*);                                             \
  template void layer_norm_backward_reference<T>(const T*, const T*, const T*, const T*, const T*, std::int64_t,  \
                                                 std::int64_t, T*, T*, T*);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace sf::kernels
