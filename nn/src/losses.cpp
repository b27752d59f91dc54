#include "sf/nn/losses.hpp"

namespace sf::nn {
namespace {
Variable reduce(const Variable& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return mean(losses);
    case Reduction::Sum: return sum(losses);
    case Reduction::None: return losses;
  }
  return losses;
}
}  // namespace

Variable binary_cross_entropy_with_logits(const Variable& logits, const Tensor& targets, Reduction reduction) {
  if (logits.shape() != targets.shape())
    fail("binary_cross_entropy_with_logits: logits {} and targets {} differ in shape", shape_string(logits.shape()),
         shape_string(targets.shape()));
  const Variable y(targets.dtype() == logits.dtype() ? targets : targets.to(logits.dtype()));
  // softplus(z) = m + log(e^{-m} + e^{z - m}) with the shift m = max(z, 0) held constant: no
  // overflow, and its gradient is σ(z) everywhere. (relu(z) + log(1 + e^{-|z|}) has the same value,
  // but with relu'(0) = sign(0) = 0 its gradient at z = 0 came out 0 instead of 1/2.)
  const Variable shift = relu(logits).detach();
  Variable losses = shift + log(exp(-shift) + exp(logits - shift)) - logits * y;
  return reduce(losses, reduction);
}

Variable mse_loss(const Variable& prediction, const Tensor& targets, Reduction reduction) {
  if (prediction.shape() != targets.shape())
    fail("mse_loss: prediction {} and targets {} differ in shape", shape_string(prediction.shape()),
         shape_string(targets.shape()));
  const Variable difference = prediction - Variable(targets.dtype() == prediction.dtype() ? targets : targets.to(prediction.dtype()));
  return reduce(difference * difference, reduction);
}

}  // namespace sf::nn
