// Fused ops of the SwarmFormer blocks (ops/gating.cpp): one pass and one graph node each
// instead of a chain of elementwise ops. Each equals a composite of primitives (tested).
#pragma once

#include "sf/autograd/variable.hpp"

namespace sf {

// (roll(x, +1) + x + roll(x, -1)) / 3 along axis 1, circular. x [B, L, ...].
Variable neighbor_mean(const Variable& x);
// x + g ⊙ (u - x), all one shape.
Variable gated_interpolation(const Variable& x, const Variable& u, const Variable& g);
// x + g ⊙ u, all one shape.
Variable gated_residual(const Variable& x, const Variable& g, const Variable& u);
// concat([x, u], -1) · Wᵀ + b without building the concatenation. W [out, Dx + Du], b [out] or undefined.
Variable linear_concat(const Variable& x, const Variable& u, const Variable& weight, const Variable& bias);

}  // namespace sf
