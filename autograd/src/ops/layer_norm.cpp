// Layer normalization over the last axis (D features per row).
//
//   μ = mean(x),  σ⁻¹ = 1 / sqrt(var(x) + eps)   (biased variance, as PyTorch)
//   x̂ = (x - μ) σ⁻¹,   y = x̂ ⊙ w + b
// backward, per row, with ĝ = g ⊙ w:
//   grad_x = σ⁻¹ (ĝ - mean(ĝ) - x̂ mean(ĝ ⊙ x̂))
//   grad_w = Σ_rows g ⊙ x̂,   grad_b = Σ_rows g
// The kernels (core/kernels/layer_norm) compute both in one pass per row; the node saves x
// and the per-row μ and σ⁻¹.
#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"

namespace sf {
namespace {

struct LayerNormBackward : SavingNode<LayerNormBackward> {
  SavedTensor input, mean, inverse_std, weight;
  bool has_weight = false, has_bias = false;
  std::string name() const override { return "LayerNormBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    compute::LayerNormGrads grads = compute::layer_norm_backward(
        grad, input.get(name()), mean.get(name()), inverse_std.get(name()),
        has_weight ? weight.get(name()) : Tensor());
    std::vector<Tensor> result{grads.grad_input};
    if (has_weight) result.push_back(grads.grad_weight);
    if (has_bias) result.push_back(grads.grad_bias);
    return result;
  }
  auto saved() { return std::tie(input, mean, inverse_std, weight); }
};

}  // namespace

Variable layer_norm(const Variable& x, const Variable& weight, const Variable& bias, double eps) {
  compute::LayerNormResult result = compute::layer_norm(x.data(), weight.defined() ? weight.data() : Tensor(),
                                                        bias.defined() ? bias.data() : Tensor(), eps);
  std::vector<Variable> inputs{x};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  if (!needs_graph(inputs)) return Variable(std::move(result.output));
  auto node = std::make_shared<LayerNormBackward>();
  node->input = SavedTensor(x.data());
  node->mean = SavedTensor(result.mean);
  node->inverse_std = SavedTensor(result.inverse_std);
  node->has_weight = weight.defined();
  node->has_bias = bias.defined();
  if (weight.defined()) node->weight = SavedTensor(weight.data());
  return attach_node(std::move(node), std::move(result.output), inputs);
}

}  // namespace sf
