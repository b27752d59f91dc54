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
  for (std::int64_t row : rows) {
    const auto begin = split.ids.begin() + row * split.seq_len;
    batch.ids.insert(batch.ids.end(), begin, begin + split.seq_len);
    batch.labels.push_back(split.labels[static_cast<std::size_t>(row)]);
  }
  return batch;
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
  for (std::int64_t begin = first; begin < last; begin += batch_size) {
    std::vector<std::int64_t> rows;
    for (std::int64_t row = begin; row < std::min(last, begin + batch_size); ++row) rows.push_back(row);
    const Batch batch = make_batch(split, rows);
    const Variable logits = model.forward(batch.ids, batch.count);
    const Variable loss = cross_entropy(logits, batch.labels, {.reduction = Reduction::Sum});
    totals.back() += loss.item();
    const std::vector<std::int64_t> predictions = compute::argmax(logits.data(), -1);
    for (std::int64_t index = 0; index < batch.count; ++index)
      totals[static_cast<std::size_t>(batch.labels[static_cast<std::size_t>(index)] * classes +
                                      predictions[static_cast<std::size_t>(index)])] += 1.0;
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

std::vector<std::vector<double>> predict_probabilities(SwarmFormer& model, const std::vector<std::int64_t>& ids,
                                                        std::int64_t count, std::int64_t batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  const std::int64_t length = model.config().seq_len;
  std::vector<std::vector<double>> result;
  for (std::int64_t begin = 0; begin < count; begin += batch_size) {
    const std::int64_t rows = std::min(batch_size, count - begin);
    std::vector<std::int64_t> chunk(ids.begin() + begin * length, ids.begin() + (begin + rows) * length);
    const Tensor probabilities = compute::softmax(model.forward(chunk, rows).data());
    const std::vector<double> values = probabilities.to_vector();
    const std::int64_t classes = probabilities.size(1);
    for (std::int64_t row = 0; row < rows; ++row)
      result.emplace_back(values.begin() + row * classes, values.begin() + (row + 1) * classes);
  }
  model.train(was_training);
  return result;
}

}  // namespace sf
