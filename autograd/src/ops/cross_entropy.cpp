// Cross-entropy of logits [R, Y] against class indices, with label smoothing and ignore_index.
//
// With p = softmax(z) and the smoothed target q = (1 - ε) onehot(t) + ε / C:
//   loss_n = -Σ_c q_c log p_c = -(1 - ε) log p_t - (ε / C) Σ_c log p_c
//   d loss_n / d z = p - q                                   (since Σ_c q_c = 1)
// Rows whose target is ignore_index contribute nothing. Mean reduction divides by the number of
// rows not ignored (PyTorch's convention); sum adds; none returns the per-row losses [R].
#include <cmath>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"

namespace sf {
namespace {

struct CrossEntropyBackward : SavingNode<CrossEntropyBackward> {
  SavedTensor log_probabilities;   // [R, Y]
  std::vector<std::int64_t> targets;
  CrossEntropyOptions options;
  double denominator = 1.0;        // rows counted by the mean
  std::string name() const override { return "CrossEntropyBackward"; }
  std::vector<Tensor> backward(const Tensor& grad_output) override {
    const Tensor& log_p = log_probabilities.get(name());
    const std::int64_t rows = log_p.size(0);
    const std::vector<double> upstream = grad_output.to_vector();
    std::vector<double> scales(static_cast<std::size_t>(rows));
    for (std::int64_t row = 0; row < rows; ++row) {
      double scale = options.reduction == Reduction::None ? upstream[static_cast<std::size_t>(row)] : upstream[0];
      if (options.reduction == Reduction::Mean) scale /= denominator;
      const bool ignored = targets[static_cast<std::size_t>(row)] == options.ignore_index;
      scales[static_cast<std::size_t>(row)] = ignored ? 0.0 : scale;
    }
    return {compute::cross_entropy_backward(log_p, targets, scales, options.label_smoothing)};
  }
  auto saved() { return std::tie(log_probabilities); }
};

}  // namespace

Variable cross_entropy(const Variable& logits, const std::vector<std::int64_t>& targets,
                       const CrossEntropyOptions& options) {
  if (logits.dim() != 2)
    fail("cross_entropy: logits must be [N, classes], got {}", shape_string(logits.shape()));
  const std::int64_t rows = logits.size(0), classes = logits.size(1);
  if (static_cast<std::int64_t>(targets.size()) != rows)
    fail("cross_entropy: {} targets for logits {}", targets.size(), shape_string(logits.shape()));
  if (!(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0))
    fail("cross_entropy: label_smoothing must be in [0, 1], got {}", options.label_smoothing);
  std::int64_t counted = 0;
  for (std::size_t row = 0; row < targets.size(); ++row) {
    if (targets[row] == options.ignore_index) continue;
    if (targets[row] < 0 || targets[row] >= classes)
      fail("cross_entropy: target {} at row {} out of range for {} classes (logits {})", targets[row], row, classes,
           shape_string(logits.shape()));
    ++counted;
  }
  Tensor log_p = compute::log_softmax(logits.data());
  Tensor losses = Tensor::empty({rows}, logits.dtype());
  double total = 0.0;
  dispatch_dtype(logits.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* lp = log_p.data<T>();
    T* out = losses.data<T>();
    for (std::int64_t row = 0; row < rows; ++row) {
      const std::int64_t target = targets[static_cast<std::size_t>(row)];
      if (target == options.ignore_index) {
        out[row] = T(0);
        continue;
      }
      double loss = -(1.0 - options.label_smoothing) * static_cast<double>(lp[row * classes + target]);
      if (options.label_smoothing > 0.0) {  // the smoothing term reads the whole row
        double sum_log_p = 0.0;
        for (std::int64_t column = 0; column < classes; ++column) sum_log_p += static_cast<double>(lp[row * classes + column]);
        loss -= options.label_smoothing / static_cast<double>(classes) * sum_log_p;
      }
      out[row] = static_cast<T>(loss);
      total += loss;
    }
  });
  const double denominator = counted == 0 ? 1.0 : static_cast<double>(counted);
  Tensor output = options.reduction == Reduction::None
                      ? losses
                      : Tensor::scalar(options.reduction == Reduction::Mean ? total / denominator : total, logits.dtype());
  if (!needs_graph({&logits})) return Variable(std::move(output));
  auto node = std::make_shared<CrossEntropyBackward>();
  node->log_probabilities = SavedTensor(std::move(log_p));
  node->targets = targets;
  node->options = options;
  node->denominator = denominator;
  return attach_node(std::move(node), std::move(output), {&logits});
}

}  // namespace sf
