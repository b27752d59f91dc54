// Softmax and log-softmax over the last axis.
//
//   y = softmax(x):      y_i = exp(x_i - m) / Σ_j exp(x_j - m),  m = max_j x_j (for stability)
//                        grad_x = y ⊙ (g - Σ_j g_j y_j)
//   y = log_softmax(x):  y_i = x_i - m - log Σ_j exp(x_j - m)
//                        grad_x = g - exp(y) Σ_j g_j
// Both backward formulas need only the output y, which is what the node saves.
#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"

namespace sf {
namespace {

struct SoftmaxBackward : SavingNode<SoftmaxBackward> {
  bool logarithmic = false;
  SavedTensor output;
  std::string name() const override { return logarithmic ? "LogSoftmaxBackward" : "SoftmaxBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    const Tensor& y = output.get(name());
    return {logarithmic ? compute::log_softmax_backward(y, grad) : compute::softmax_backward(y, grad)};
  }
  auto saved() { return std::tie(output); }
};

Variable softmax_family(const Variable& x, bool logarithmic) {
  if (x.dim() == 0) fail("{}: input must have at least one axis, got a 0-d tensor", logarithmic ? "log_softmax" : "softmax");
  Tensor output = logarithmic ? compute::log_softmax(x.data()) : compute::softmax(x.data());
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<SoftmaxBackward>();
  node->logarithmic = logarithmic;
  node->output = SavedTensor(output);
  return attach_node(std::move(node), std::move(output), {&x});
}

}  // namespace

Variable softmax(const Variable& x) { return softmax_family(x, false); }
Variable log_softmax(const Variable& x) { return softmax_family(x, true); }

}  // namespace sf
