// Inverted dropout and Gumbel-softmax: the two ops that draw random numbers.
//
// dropout: m_i = [u_i >= p] / (1 - p) with u_i uniform;  y = x ⊙ m;  grad_x = g ⊙ m.
//   Evaluation (training = false) or p = 0 is the identity. The mask comes from the counter-based
//   generator, so it is the same for any thread count and is reproduced exactly on resume.
//
// gumbel_softmax: y_soft = softmax((z + γ) / τ), γ_i = -log(-log u_i) ~ Gumbel(0, 1).
//   soft: y = y_soft,  grad_z = softmax_backward(y_soft, g) / τ
//   hard: y = onehot(argmax y_soft) in forward; backward uses the soft gradient
//         (the straight-through estimator: y = y_hard - stopgrad(y_soft) + y_soft).
#include <cmath>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"

namespace sf {
namespace {

// The mask is kept as bytes (a quarter of a float32 mask): the masks of a training step are a
// large part of its peak memory. Same bits as multiplying by the float mask.
struct DropoutBackward : SavingNode<DropoutBackward> {
  compute::ByteMask mask;
  std::string name() const override { return "DropoutBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override { return {compute::multiply_by_mask(grad, mask)}; }
  auto saved() { return std::tie(mask); }
};

struct GumbelSoftmaxBackward : SavingNode<GumbelSoftmaxBackward> {
  SavedTensor soft;
  double temperature = 1.0;
  std::string name() const override { return "GumbelSoftmaxBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    return {compute::multiply_scalar(compute::softmax_backward(soft.get(name()), grad), 1.0 / temperature)};
  }
  auto saved() { return std::tie(soft); }
};

}  // namespace

Variable dropout(const Variable& x, double probability, bool training, Generator& generator) {
  if (!(probability >= 0.0 && probability < 1.0))
    fail("dropout: probability must be in [0, 1), got {} (input {})", probability, x.data().describe());
  if (!training || probability == 0.0) return x;
  const bool graph = needs_graph({&x});
  compute::DropoutResult dropped = compute::dropout(x.data(), generator, probability, graph);
  if (!graph) return Variable(std::move(dropped.output));
  auto node = std::make_shared<DropoutBackward>();
  node->mask = std::move(dropped.mask);
  return attach_node(std::move(node), std::move(dropped.output), {&x});
}

Variable gumbel_softmax(const Variable& logits, double temperature, bool hard, Generator& generator) {
  if (!(temperature > 0.0)) fail("gumbel_softmax: temperature must be positive, got {}", temperature);
  if (logits.dim() == 0) fail("gumbel_softmax: logits must have at least one axis");
  // γ = -log(-log u), u in (0, 1): uniform draws are clamped away from 0 and 1.
  Tensor noise = uniform(logits.shape(), generator, 0.0, 1.0, logits.dtype());
  noise = compute::clamp(noise, 1e-10, 1.0 - 1e-7);
  noise = compute::unary(compute::Unary::Negate,
                         compute::unary(compute::Unary::Log,
                                        compute::unary(compute::Unary::Negate, compute::unary(compute::Unary::Log, noise))));
  Tensor soft = compute::softmax(compute::multiply_scalar(compute::add(logits.data(), noise), 1.0 / temperature));
  Tensor output = soft;
  if (hard) {
    const std::int64_t classes = soft.size(-1);
    const std::vector<std::int64_t> winners = compute::argmax(soft, -1);
    output = Tensor::zeros(soft.shape(), soft.dtype());
    dispatch_dtype(soft.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* out = output.data<T>();
      for (std::size_t row = 0; row < winners.size(); ++row)
        out[static_cast<std::int64_t>(row) * classes + winners[row]] = T(1);
    });
  }
  if (!needs_graph({&logits})) return Variable(std::move(output));
  auto node = std::make_shared<GumbelSoftmaxBackward>();
  node->soft = SavedTensor(std::move(soft));
  node->temperature = temperature;
  return attach_node(std::move(node), std::move(output), {&logits});
}

}  // namespace sf
