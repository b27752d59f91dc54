// Batching a tokenized split and evaluating a model on it (sharded over ranks).
#pragma once

#include <cstdint>
#include <vector>

#include "sf/swarmformer/communicator.hpp"
#include "sf/swarmformer/metrics.hpp"
#include "sf/swarmformer/model.hpp"
#include "sf/swarmformer/token_cache.hpp"

namespace sf {

struct Batch {
  std::vector<std::int64_t> ids;     // count × seq_len, row-major
  std::vector<std::int64_t> labels;  // count
  std::int64_t count = 0;
};

// The examples `rows` of `split` (ids widened to int64); each must have exactly one window.
Batch make_batch(const TokenizedSplit& split, const std::vector<std::int64_t>& rows);

// Logits [last - first, classes] of examples [first, last) in the model's current mode: the mean
// of each example's window logits (eval_windows), or its one row's logits.
Tensor example_logits(SwarmFormer& model, const TokenizedSplit& split, std::int64_t first, std::int64_t last);

// Accuracy, loss and the confusion matrix of `model` (put in evaluation mode) on the first
// `max_examples` examples of `split` (0: all), each example's logits averaged over its windows;
// a batch holds up to batch_size rows. Ranks evaluate disjoint contiguous shards and the
// counts are summed, so every rank returns the same metrics.
ClassificationMetrics evaluate(SwarmFormer& model, const TokenizedSplit& split, std::int64_t batch_size,
                               Communicator& communicator, std::int64_t max_examples = 0);

// Class probabilities (softmax of the window-averaged logits) for each example, evaluation mode.
std::vector<std::vector<double>> predict_probabilities(SwarmFormer& model, const TokenizedSplit& split,
                                                        std::int64_t batch_size);

}  // namespace sf
