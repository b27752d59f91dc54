// Tensor-level neural-network kernels (namespace sf::compute): softmax over the last axis, layer
// norm, embedding, fused AdamW. Conventions as in compute_elementwise.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "sf/core/kernels/adamw.hpp"
#include "sf/core/tensor.hpp"

namespace sf::compute {

// Over the last axis (kernels/softmax.hpp for the math). A row of all -inf gives probabilities 0
// (softmax) and -inf (log_softmax) instead of NaN.
Tensor softmax(const Tensor& x);
Tensor softmax_backward(const Tensor& y, const Tensor& grad_y);  // y ⊙ (grad_y - Σ grad_y ⊙ y)
Tensor log_softmax(const Tensor& x);
Tensor log_softmax_backward(const Tensor& y, const Tensor& grad_y);  // grad_y - e^y Σ grad_y
// The gradient of Σ_n scales[n] · cross-entropy(row n) with respect to the logits, from their
// log-probabilities y [R, Y] (kernels/softmax.hpp); a row with scale 0 is ignored (all zeros).
Tensor cross_entropy_backward(const Tensor& y, const std::vector<std::int64_t>& targets,
                              const std::vector<double>& scales, double label_smoothing);

// Layer norm over the last axis D (kernels/layer_norm.hpp). weight and bias are [D] or undefined.
// mean and inverse_std have x's shape without the last axis.
struct LayerNormResult {
  Tensor output, mean, inverse_std;
};
LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
// grad_weight and grad_bias ([D]) are always computed, summed over rows deterministically.
struct LayerNormGrads {
  Tensor grad_input, grad_weight, grad_bias;
};
LayerNormGrads layer_norm_backward(const Tensor& grad_output, const Tensor& x, const Tensor& mean,
                                   const Tensor& inverse_std, const Tensor& weight);

// out[position, :] = weight[ids[position], :]: weight [V, D], ids laid out as ids_shape, result
// ids_shape + [D]. An id outside [0, V) throws naming the id, its position and V.
Tensor embedding(const Tensor& weight, const std::vector<std::int64_t>& ids, const Shape& ids_shape);
// grad_weight [V, D] = Σ over positions with ids == v of grad_output[position, :], rows of
// padding_index (-1 = none) left at 0. grad_output is [..., D] with one row per id.
Tensor embedding_backward(const Tensor& grad_output, const std::vector<std::int64_t>& ids,
                          std::int64_t vocabulary_size, std::int64_t padding_index);

// One fused AdamW step in place (kernels/adamw.hpp); all four tensors contiguous, same shape and
// dtype. Bumps the versions of parameter and both moments.
using kernels::AdamWStep;
void adamw_update_(Tensor& parameter, const Tensor& gradient, Tensor& first_moment, Tensor& second_moment,
                   const AdamWStep& step);

}  // namespace sf::compute
