// Losses, built from the differentiable ops (their gradients follow).
//
//   cross_entropy (sf::cross_entropy, fused):  -Σ_c q_c log softmax(z)_c, label smoothing
//   binary_cross_entropy_with_logits:  ℓ = softplus(z) - z y = max(z, 0) - z y + log(1 + exp(-|z|))
//       (the stable form of -[y log σ(z) + (1 - y) log(1 - σ(z))]; dℓ/dz = σ(z) - y, also at z = 0)
//   mse:  ℓ = (x - y)²
// Each reduces with mean (default), sum or none.
#pragma once

#include "sf/autograd/functional.hpp"

namespace sf::nn {

Variable binary_cross_entropy_with_logits(const Variable& logits, const Tensor& targets,
                                          Reduction reduction = Reduction::Mean);
Variable mse_loss(const Variable& prediction, const Tensor& targets, Reduction reduction = Reduction::Mean);

}  // namespace sf::nn
