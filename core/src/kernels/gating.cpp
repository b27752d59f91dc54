// The gating kernels (kernels/gating.hpp for the math). Products and sums are written as separate
// operations in the same order in the vector and the reference forms; the file is compiled with
// -ffp-contract=off, so neither form is fused into an FMA and the two agree bit for bit.
#include "sf/core/kernels/gating.hpp"

#include "sf/core/kernels/simd.hpp"
#include "sf/core/parallel.hpp"

namespace sf::kernels {

using simd::Batch;
using simd::Contiguous;

template <class T>
void neighbor_mean(const T* x, T* y, std::int64_t batch, std::int64_t length, std::int64_t width) {
  if (batch == 0 || length == 0 || width == 0) return;
  const Batch<T> third(T(1) / T(3));
  parallel::parallel_for(0, batch * length, parallel::rows_grain(width), [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t row = first; row < last; ++row) {
      const std::int64_t b = row / length, i = row % length;
      const T* previous = x + (b * length + (i + length - 1) % length) * width;
      const T* next = x + (b * length + (i + 1) % length) * width;
      simd::map_range(y + row * width, 0, width,
                      [&](const Batch<T>& p, const Batch<T>& c, const Batch<T>& n) { return (p + c + n) * third; },
                      Contiguous<T>{previous}, Contiguous<T>{x + row * width}, Contiguous<T>{next});
    }
  });
}

template <class T>
void neighbor_mean_reference(const T* x, T* y, std::int64_t batch, std::int64_t length, std::int64_t width) {
  const T third = T(1) / T(3);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < length; ++i)
      for (std::int64_t column = 0; column < width; ++column) {
        const T p = x[(b * length + (i + length - 1) % length) * width + column];
        const T c = x[(b * length + i) * width + column];
        const T n = x[(b * length + (i + 1) % length) * width + column];
        y[(b * length + i) * width + column] = (p + c + n) * third;
      }
}

template <class T>
void gated_interpolation(const T* x, const T* u, const T* g, T* y, std::int64_t count) {
  simd::map(y, count, [](const Batch<T>& xs, const Batch<T>& us, const Batch<T>& gs) { return xs + gs * (us - xs); },
            Contiguous<T>{x}, Contiguous<T>{u}, Contiguous<T>{g});
}

template <class T>
void gated_interpolation_reference(const T* x, const T* u, const T* g, T* y, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) y[i] = x[i] + g[i] * (u[i] - x[i]);
}

template <class T>
void gated_interpolation_backward(const T* x, const T* u, const T* g, const T* grad, T* grad_x, T* grad_u, T* grad_g,
                                  std::int64_t count) {
  const Batch<T> one(T(1));
  simd::map(grad_x, count, [&](const Batch<T>& gr, const Batch<T>& gs) { return gr * (one - gs); }, Contiguous<T>{grad},
            Contiguous<T>{g});
  simd::map(grad_u, count, [](const Batch<T>& gr, const Batch<T>& gs) { return gr * gs; }, Contiguous<T>{grad},
            Contiguous<T>{g});
  simd::map(grad_g, count, [](const Batch<T>& gr, const Batch<T>& us, const Batch<T>& xs) { return gr * (us - xs); },
            Contiguous<T>{grad}, Contiguous<T>{u}, Contiguous<T>{x});
}

template <class T>
void gated_interpolation_backward_reference(const T* x, const T* u, const T* g, const T* grad, T* grad_x, T* grad_u,
                                            T* grad_g, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    grad_x[i] = grad[i] * (T(1) - g[i]);
    grad_u[i] = grad[i] * g[i];
    grad_g[i] = grad[i] * (u[i] - x[i]);
  }
}

template <class T>
void gated_residual(const T* x, const T* g, const T* u, T* y, std::int64_t count) {
  simd::map(y, count, [](const Batch<T>& xs, const Batch<T>& gs, const Batch<T>& us) { return xs + gs * us; },
            Contiguous<T>{x}, Contiguous<T>{g}, Contiguous<T>{u});
}

template <class T>
void gated_residual_reference(const T* x, const T* g, const T* u, T* y, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) y[i] = x[i] + g[i] * u[i];
}

template <class T>
void gated_residual_backward(const T* g, const T* u, const T* grad, T* grad_g, T* grad_u, std::int64_t count) {
  simd::map(grad_g, count, [](const Batch<T>& gr, const Batch<T>& us) { return gr * us; }, Contiguous<T>{grad},
            Contiguous<T>{u});
  simd::map(grad_u, count, [](const Batch<T>& gr, const Batch<T>& gs) { return gr * gs; }, Contiguous<T>{grad},
            Contiguous<T>{g});
}

template <class T>
void gated_residual_backward_reference(const T* g, const T* u, const T* grad, T* grad_g, T* grad_u,
                                       std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    grad_g[i] = grad[i] * u[i];
    grad_u[i] = grad[i] * g[i];
  }
}

#define SF_INSTANTIATE(T)                                                                                           \
  template void neighbor_mean<T>(const T*, T*, std::int64_t, std::int64_t, std::int64_t);                          \
  template void neighbor_mean_reference<T>(const T*, T*, std::int64_t, std::int64_t, std::int64_t);                \
  template void gated_interpolation<T>(const T*, const T*, const T*, T*, std::int64_t);                            \
  template void gated_interpolation_reference<T>(const T*, const T*, const T*, T*, std::int64_t);                  \
  template void gated_interpolation_backward<T>(const T*, const T*, const T*, const T*, T*, T*, T*, std::int64_t); \
  template void gated_interpolation_backward_reference<T>(const T*, const T*, const T*, const T*, T*, T*, T*,      \
                                                          std::int64_t);                                           \
  template void gated_residual<T>(const T*, const T*, const T*, T*, std::int64_t);                                 \
  template void gated_residual_reference<T>(const T*, const T*, const T*, T*, std::int64_t);                       \
  template void gated_residual_backward<T>(const T*, const T*, const T*, T*, T*, std::int64_t);                    \
  template void gated_residual_backward_reference<T>(const T*, const T*, const T*, T*, T*, std::int64_t);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace sf::kernels
