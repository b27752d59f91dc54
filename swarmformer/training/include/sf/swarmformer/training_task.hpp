// What the trainer learns: a TrainingTask supplies the data, one batch's forward and backward,
// the validation score and the final evaluation; the trainer (trainer.hpp) owns everything else —
// the loop, the optimizer and schedule, checkpoints and exact resume, signals, MPI, the moving
// average, logging. Two tasks exist: text classification (`train`) and masked-language-model
// pretraining (`pretrain`), so both run on one trainer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sf/swarmformer/communicator.hpp"
#include "sf/swarmformer/gradient_reducer.hpp"
#include "sf/swarmformer/messages.hpp"
#include "sf/swarmformer/model.hpp"
#include "sf/swarmformer/training_config.hpp"

namespace sf {

struct StepOutcome {
  double loss_sum = 0.0;  // Σ of the per-unit losses on this rank (units: examples, or masked tokens)
  double correct = 0.0;   // units predicted right on this rank
  double units = 0.0;     // units on this rank
};

struct TaskEvaluation {
  double score = 0.0;       // higher is better: chooses the best checkpoint and drives patience
  double loss = 0.0;
  nlohmann::json metrics;   // logged to metrics.jsonl and kept for the report
};

struct TaskPaths {
  std::string data, vocab, cache_dir;
  std::vector<std::string> extra_corpora;  // pretraining only
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  virtual std::string name() const = 0;        // "classification", "masked_lm"
  virtual std::string score_name() const = 0;  // "accuracy", "masked-token accuracy"
  // Before the optimizer exists: a task may add modules to the model (the masked-LM head).
  virtual void prepare(SwarmFormer& /*model*/) {}
  virtual std::int64_t train_size() const = 0;
  // Forward and backward of this rank's `rows` (indices into the training data, possibly none:
  // every rank calls it, as a task may need a collective) of a global batch of `global_count`.
  // The gradients must be those of the global batch's mean loss, summed over ranks.
  virtual StepOutcome step(SwarmFormer& model, const std::vector<std::int64_t>& rows, std::int64_t global_count,
                           std::int64_t epoch, const GradientReducer::LeafReadyHook& hook) = 0;
  virtual TaskEvaluation validate(SwarmFormer& model) = 0;
  // With the chosen checkpoint loaded, after training: what the report adds (e.g. {"test": …}).
  virtual nlohmann::json finish(SwarmFormer& model) = 0;
  virtual nlohmann::json data_description() const = 0;
  virtual std::vector<std::string> class_names() const { return {}; }
};

// Classification on a dataset's train / validation / test splits (training_data.hpp).
std::unique_ptr<TrainingTask> make_classification_task(const TaskPaths& paths, const SwarmFormerConfig& model,
                                                       const TrainingConfig& training, Communicator& communicator,
                                                       const MessageSink& messages = {});

// Masked-language-model pretraining on the dataset's training texts, its unlabelled texts and
// extra corpora, never its test texts (corpus.hpp, masked_lm.hpp).
std::unique_ptr<TrainingTask> make_masked_lm_task(const TaskPaths& paths, const SwarmFormerConfig& model,
                                                  const TrainingConfig& training, Communicator& communicator,
                                                  const MessageSink& messages = {});

}  // namespace sf
