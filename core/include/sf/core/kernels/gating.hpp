// Kernels of the fused SwarmFormer gating ops (autograd/src/ops/gating.cpp holds their graph
// side), each beside a scalar reference the tests compare it with.
//
//   neighbor_mean:            y[b, i, :] = (x[b, i-1, :] + x[b, i, :] + x[b, i+1, :]) / 3, i mod L
//                             (the stencil is symmetric: its backward is the same stencil on g)
//   gated_interpolation:      y = x + g ⊙ (u - x)
//   gated_interpolation_backward:  dx = G ⊙ (1 - g),  du = G ⊙ g,  dg = G ⊙ (u - x)
//   gated_residual:           y = x + g ⊙ u
//   gated_residual_backward:  dg = G ⊙ u,  du = G ⊙ g                     (dx = G)
//
// Arrays are contiguous; the vector and the reference forms do the same operations on each
// element in the same order, so they agree bit for bit, and every element is computed alone, so
// any thread count gives the same bits.
#pragma once

#include <cstdint>

namespace sf::kernels {

template <class T>
void neighbor_mean(const T* x, T* y, std::int64_t batch, std::int64_t length, std::int64_t width);
template <class T>
void neighbor_mean_reference(const T* x, T* y, std::int64_t batch, std::int64_t length, std::int64_t width);

template <class T>
void gated_interpolation(const T* x, const T* u, const T* g, T* y, std::int64_t count);
template <class T>
void gated_interpolation_reference(const T* x, const T* u, const T* g, T* y, std::int64_t count);
template <class T>
void gated_interpolation_backward(const T* x, const T* u, const T* g, const T* grad, T* grad_x, T* grad_u, T* grad_g,
                                  std::int64_t count);
template <class T>
void gated_interpolation_backward_reference(const T* x, const T* u, const T* g, const T* grad, T* grad_x, T* grad_u,
                                            T* grad_g, std::int64_t count);

template <class T>
void gated_residual(const T* x, const T* g, const T* u, T* y, std::int64_t count);
template <class T>
void gated_residual_reference(const T* x, const T* g, const T* u, T* y, std::int64_t count);
template <class T>
void gated_residual_backward(const T* g, const T* u, const T* grad, T* grad_g, T* grad_u, std::int64_t count);
template <class T>
void gated_residual_backward_reference(const T* g, const T* u, const T* grad, T* grad_g, T* grad_u,
                                       std::int64_t count);

}  // namespace sf::kernels
