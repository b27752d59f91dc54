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

// The examples `rows` of `split` (ids widened to int64).
Batch make_batch(const TokenizedSplit& split, const std::vector<std::int64_t>& rows);

// Accuracy, loss and the confusion matrix of `model` (put in evaluation mode) on the first
// `max_examples` examples of `split` (0: all). Ranks evaluate disjoint contiguous shards and the
// counts are summed, so every rank returns the same metrics.
ClassificationMetrics evaluate(SwarmFormer& model, const TokenizedSplit& split, std::int64_t batch_size,
                               Communicator& communicator, std::int64_t max_examples = 0);

// Class probabilities (softmax of the logits) for each row of ids, evaluation mode.
std::vector<std::vector<double>> predict_probabilities(SwarmFormer& model, const std::vector<std::int64_t>& ids,
                                                        std::int64_t count, std::int64_t batch_size);

}  // namespace sf
