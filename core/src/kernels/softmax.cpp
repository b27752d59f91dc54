// Row-wise softmax / log-softmax; see kernels/softmax.hpp for the math.
#include "sf/core/kernels/softmax.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sf/core/kernels/simd.hpp"
#include "sf/core/parallel.hpp"

namespace sf::kernels {
namespace {

using simd::Batch;

// row_function(row) for every row, rows in parallel.
template <class RowFunction>
void for_each_row(std::int64_t rows, std::int64_t length, RowFunction&& row_function) {
  parallel::parallel_for(0, rows, parallel::rows_grain(length), [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t row = first; row < last; ++row) row_function(row);
  });
}

template <class T>
constexpr T negative_infinity = -std::numeric_limits<T>::infinity();

// Σ_j e^(x_j - m) over one row, also storing the exponentials in `exponentials` when non-null.
template <class T>
T sum_of_exponentials(const T* x, T maximum, std::int64_t length, T* exponentials) {
  const Batch<T> shift(maximum);
  return simd::horizontal_sum(simd::accumulate<T>(length, [&](std::int64_t index, std::int64_t valid) {
    const Batch<T> value = xsimd::exp(simd::load(x + index, valid) - shift);
    if (exponentials) simd::store(value, exponentials + index, valid);
    return simd::zero_padding(value, valid);
  }));
}

// The serial scalar max of a row, for the references.
template <class T>
T reference_max(const T* x, std::int64_t length) {
  T maximum = negative_infinity<T>;
  for (std::int64_t j = 0; j < length; ++j) maximum = std::isnan(x[j]) || x[j] > maximum ? x[j] : maximum;
  return maximum;
}

}  // namespace

template <class T>
void softmax(const T* x, T* y, std::int64_t rows, std::int64_t length) {
  if (length == 0) return;
  for_each_row(rows, length, [&](std::int64_t row) {
    const T* input = x + row * length;
    T* output = y + row * length;
    const T maximum = simd::max(input, length);
    if (maximum == negative_infinity<T>) {
      std::fill(output, output + length, T(0));
      return;
    }
    // Scaling by the reciprocal (as PyTorch's vectorized softmax does) rather than dividing each
    // element: one division per row instead of one per element.
    const Batch<T> inverse_total(T(1) / sum_of_exponentials(input, maximum, length, output));
    simd::map_range(output, 0, length, [&](const Batch<T>& value) { return value * inverse_total; },
                    simd::Contiguous<T>{output});
  });
}

template <class T>
void softmax_reference(const T* x, T* y, std::int64_t rows, std::int64_t length) {
  for (std::int64_t row = 0; row < rows; ++row) {
    const T* input = x + row * length;
    T* output = y + row * length;
    const T maximum = reference_max(input, length);
    T total = T(0);
    for (std::int64_t j = 0; j < length; ++j) {
      output[j] = maximum == negative_infinity<T> ? T(0) : std::exp(input[j] - maximum);
      total += output[j];
    }
    for (std::int64_t j = 0; j < length; ++j) output[j] = total == T(0) ? T(0) : output[j] / total;
  }
}

template <class T>
void log_softmax(const T* x, T* y, std::int64_t rows, std::int64_t length) {
  if (length == 0) return;
  for_each_row(rows, length, [&](std::int64_t row) {
    const T* input = x + row * length;
    T* output = y + row * length;
    const T maximum = simd::max(input, length);
    if (maximum == negative_infinity<T>) {
      std::fill(output, output + length, negative_infinity<T>);
      return;
    }
    const Batch<T> shift(maximum), log_total(std::log(sum_of_exponentials(input, maximum, length, static_cast<T*>(nullptr))));
    simd::map_range(output, 0, length, [&](const Batch<T>& value) { return (value - shift) - log_total; },
                    simd::Contiguous<T>{input});
  });
}

template <class T>
void log_softmax_reference(const T* x, T* y, std::int64_t rows, std::int64_t length) {
  for (std::int64_t row = 0; row < rows; ++row) {
    const T* input = x + row * length;
    T* output = y + row * length;
    const T maximum = reference_max(input, length);
    T total = T(0);
    for (std::int64_t j = 0; j < length; ++j) total += std::exp(input[j] - maximum);
    for (std::int64_t j = 0; j < length; ++j)
      output[j] = maximum == negative_infinity<T> ? negative_infinity<T> : input[j] - maximum - std::log(total);
  }
}

template <class T>
void softmax_backward(const T* y, const T* grad_y, T* grad_x, std::int64_t rows, std::int64_t length) {
  for_each_row(rows, length, [&](std::int64_t row) {
    const T* probabilities = y + row * length;
    const T* upstream = grad_y + row * length;
    const Batch<T> dot(simd::horizontal_sum(simd::accumulate<T>(length, [&](std::int64_t index, std::int64_t valid) {
      return simd::load(upstream + index, valid) * simd::load(probabilities + index, valid);
    })));
    simd::map_range(grad_x + row * length, 0, length,
                    [&](const Batch<T>& p, const Batch<T>& g) { return p * (g - dot); },
                    simd::Contiguous<T>{probabilities}, simd::Contiguous<T>{upstream});
  });
}

template <class T>
void softmax_backward_reference(const T* y, const T* grad_y, T* grad_x, std::int64_t rows, std::int64_t length) {
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int64_t base = row * length;
    T dot = T(0);
    for (std::int64_t j = 0; j < length; ++j) dot += grad_y[base + j] * y[base + j];
    for (std::int64_t j = 0; j < length; ++j) grad_x[base + j] = y[base + j] * (grad_y[base + j] - dot);
  }
}

template <class T>
void log_softmax_backward(const T* y, const T* grad_y, T* grad_x, std::int64_t rows, std::int64_t length) {
  for_each_row(rows, length, [&](std::int64_t row) {
    const T* log_probabilities = y + row * length;
    const T* upstream = grad_y + row * length;
    const Batch<T> total(simd::sum(upstream, length));
    simd::map_range(grad_x + row * length, 0, length,
                    [&](const Batch<T>& log_p, const Batch<T>& g) { return g - xsimd::exp(log_p) * total; },
                    simd::Contiguous<T>{log_probabilities}, simd::Contiguous<T>{upstream});
  });
}

template <class T>
void log_softmax_backward_reference(const T* y, const T* grad_y, T* grad_x, std::int64_t rows,
                                    std::int64_t length) {
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int64_t base = row * length;
    T total = T(0);
    for (std::int64_t j = 0; j < length; ++j) total += grad_y[base + j];
    for (std::int64_t j = 0; j < length; ++j) grad_x[base + j] = grad_y[base + j] - std::exp(y[base + j]) * total;
  }
}

template <class T>
void cross_entropy_backward(const T* y, const std::int64_t* targets, const double* scales, double smoothing, T* grad_z,
                            std::int64_t rows, std::int64_t length) {
  if (length == 0) return;
  for_each_row(rows, length, [&](std::int64_t row) {
    T* output = grad_z + row * length;
    const double scale = scales[row];
    if (scale == 0.0) {
      std::fill(output, output + length, T(0));
      return;
    }
    const T* log_probabilities = y + row * length;
    const double spread = smoothing / static_cast<double>(length);
    const Batch<T> row_scale(static_cast<T>(scale)), offset(static_cast<T>(spread));
    simd::map_range(output, 0, length, [&](const Batch<T>& log_p) { return row_scale * (xsimd::exp(log_p) - offset); },
                    simd::Contiguous<T>{log_probabilities});
    const std::int64_t target = targets[row];
    output[target] = static_cast<T>(scale * (std::exp(static_cast<double>(log_probabilities[target])) - (1.0 - smoothing + spread)));
  });
}

template <class T>
void cross_entropy_backward_reference(const T* y, const std::int64_t* targets, const double* scales, double smoothing,
                                      T* grad_z, std::int64_t rows, std::int64_t length) {
  for (std::int64_t row = 0; row < rows; ++row) {
    for (std::int64_t j = 0; j < length; ++j) {
      const std::int64_t index = row * length + j;
      if (scales[row] == 0.0) {
        grad_z[index] = T(0);
        continue;
      }
      const double q = (j == targets[row] ? 1.0 - smoothing : 0.0) + smoothing / static_cast<double>(length);
      grad_z[index] = static_cast<T>(scales[row] * (std::exp(static_cast<double>(y[index])) - q));
    }
  }
}

#define SF_INSTANTIATE(T)                                                                              \
  template void softmax<T>(const T*, T*, std::int64_t, std::int64_t);                                 \
  template void softmax_reference<T>(const T*, T*, std::int64_t, std::int64_t);                       \
  template void log_softmax<T>(const T*, T*, std::int64_t, std::int64_t);                             \
  template void log_softmax_reference<T>(const T*, T*, std::int64_t, std::int64_t);                   \
  template void softmax_backward<T>(const T*, const T*, T*, std::int64_t, std::int64_t);              \
  template void softmax_backward_reference<T>(const T*, const T*, T*, std::int64_t, std::int64_t);    \
  template void log_softmax_backward<T>(const T*, const T*, T*, std::int64_t, std::int64_t);          \
  template void log_softmax_backward_reference<T>(const T*, const T*, T*, std::int64_t, std::int64_t);         \
  template void cross_entropy_backward<T>(const T*, const std::int64_t*, const double*, double, T*, std::int64_t, \
                                          std::int64_t);                                                        \
  template void cross_entropy_backward_reference<T>(const T*, const std::int64_t*, const double*, double, T*,   \
                                                    std::int64_t, std::int64_t);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace sf::kernels
