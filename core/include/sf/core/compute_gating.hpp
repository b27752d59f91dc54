// Tensor-level gating functions of the SwarmFormer blocks (namespace sf::compute) over
// kernels/gating.hpp: shape and dtype checks (errors print every shape), contiguous inputs,
// fresh contiguous outputs. Zero-size tensors give empty results.
#pragma once

#include "sf/core/tensor.hpp"

namespace sf::compute {

// Circular mean of each position and its two neighbours along axis 1 of x [B, L, ...].
// Its backward is the same function of the gradient (the stencil is symmetric).
Tensor neighbor_mean(const Tensor& x);

// x + g ⊙ (u - x); x, u and g of one shape and dtype.
Tensor gated_interpolation(const Tensor& x, const Tensor& u, const Tensor& g);
struct GatedInterpolationGrads {
  Tensor grad_x, grad_u, grad_g;
};
GatedInterpolationGrads gated_interpolation_backward(const Tensor& x, const Tensor& u, const Tensor& g,
                                                     const Tensor& grad);

// x + g ⊙ u; x, g and u of one shape and dtype.
Tensor gated_residual(const Tensor& x, const Tensor& g, const Tensor& u);
struct GatedResidualGrads {
  Tensor grad_g, grad_u;  // grad_x is the incoming gradient itself
};
GatedResidualGrads gated_residual_backward(const Tensor& g, const Tensor& u, const Tensor& grad);

}  // namespace sf::compute
