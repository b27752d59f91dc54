#include "sf/swarmformer/evaluation.hpp"

#include <algorithm>
#include <cmath>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/grad_mode.hpp"
#include "sf/core/compute.hpp"

namespace sf {

Batch make_batch(const TokenizedSplit& split, const std::vector<std::int64_t>& rows) {
  Batch batch;
  batch.count = static_cast<std::int64_t>(rows.size());
  batch.ids.reserve(rows.size() * static_cast<std::size_t>(split.seq_len));
  for (std::int64_t example : rows) {
    SF_CHECK(split.row_count(example) == 1, "make_batch: example {} has {} windows; training batches take one each",
             example, split.row_count(example));
    const auto begin = split.ids.begin() + split.first_row(example) * split.seq_len;
    batch.ids.insert(batch.ids.end(), begin, begin + split.seq_len);
    batch.labels.push_back(split.labels[static_cast<std::size_t>(example)]);
  }
  return batch;
}

Tensor example_logits(SwarmFormer& model, const TokenizedSplit& split, std::int64_t first, std::int64_t last) {
  const std::int64_t row_begin = split.first_row(first), row_end = split.first_row(last);
  const std::vector<std::int64_t> ids(split.ids.begin() + row_begin * split.seq_len, split.ids.begin() + row_end * split.seq_len);
  const Tensor rows = model.forward(ids, row_end - row_begin).data();
  if (row_end - row_begin == last - first) return rows;  // one window each
  // Average the windows of each example: a [examples, rows] matrix of 1/k times the row logits.
  std::vector<double> weights(static_cast<std::size_t>((last - first) * (row_end - row_begin)), 0.0);
  for (std::int64_t example = first; example < last; ++example)
    for (std::int64_t row = split.first_row(example); row < split.first_row(example + 1); ++row)
      weights[static_cast<std::size_t>((example - first) * (row_end - row_begin) + row - row_begin)] =
          1.0 / static_cast<double>(split.row_count(example));
  return compute::matmul(Tensor::from_vector(weights, {last - first, row_end - row_begin}, rows.dtype()), rows);
}

ClassificationMetrics evaluate(SwarmFormer& model, const TokenizedSplit& split, std::int64_t batch_size,
                               Communicator& communicator, std::int64_t max_examples) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  const auto total = static_cast<std::int64_t>(split.labels.size());
  const std::int64_t count = max_examples > 0 ? std::min(total, max_examples) : total;
  const std::int64_t classes = static_cast<std::int64_t>(split.class_names.size());
  // This rank's contiguous shard [first, last).
  const std::int64_t first = count * communicator.rank() / communicator.size();
  const std::int64_t last = count * (communicator.rank() + 1) / communicator.size();
  std::vector<double> totals(static_cast<std::size_t>(classes * classes + 1), 0.0);  // confusion, loss
  for (std::int64_t begin = first; begin < last;) {
    // Examples until the batch holds batch_size rows (at least one example).
    std::int64_t end = begin + 1;
    while (end < last && split.first_row(end + 1) - split.first_row(begin) <= batch_size) ++end;
    const Tensor logits = example_logits(model, split, begin, end);
    std::vector<std::int64_t> labels(split.labels.begin() + begin, split.labels.begin() + end);
    totals.back() += cross_entropy(Variable(logits), labels, {.reduction = Reduction::Sum}).item();
    const std::vector<std::int64_t> predictions = compute::argmax(logits, -1);
    for (std::size_t index = 0; index < labels.size(); ++index)
      totals[static_cast<std::size_t>(labels[index] * classes + predictions[index])] += 1.0;
    begin = end;
  }
  communicator.allreduce_sum(totals);
  ClassificationMetrics metrics;
  metrics.class_names = split.class_names;
  metrics.confusion.assign(static_cast<std::size_t>(classes), std::vector<std::int64_t>(static_cast<std::size_t>(classes), 0));
  for (std::int64_t truth = 0; truth < classes; ++truth)
    for (std::int64_t predicted = 0; predicted < classes; ++predicted)
      metrics.confusion[static_cast<std::size_t>(truth)][static_cast<std::size_t>(predicted)] =
          std::llround(totals[static_cast<std::size_t>(truth * classes + predicted)]);
  metrics.count = count;
  metrics.loss = count > 0 ? totals.back() / static_cast<double>(count) : 0.0;
  model.train(was_training);
  return metrics;
}

std::vector<std::vector<double>> predict_probabilities(SwarmFormer& model, const TokenizedSplit& split,
                                                        std::int64_t batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  std::vector<std::vector<double>> result;
  for (std::int64_t begin = 0; begin < split.size();) {
    std::int64_t end = begin + 1;
    while (end < split.size() && split.first_row(end + 1) - split.first_row(begin) <= batch_size) ++end;
    const Tensor probabilities = compute::softmax(example_logits(model, split, begin, end));
    const std::vector<double> values = probabilities.to_vector();
    const std::int64_t classes = probabilities.size(1);
    for (std::int64_t row = 0; row < end - begin; ++row)
      result.emplace_back(values.begin() + row * classes, values.begin() + (row + 1) * classes);
    begin = end;
  }
  model.train(was_training);
  return result;
}

}  // namespace sf
