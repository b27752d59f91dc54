// The counters that make a resumed run continue exactly where the last one stopped. They travel
// in last.safetensors' metadata ("training_state"), written and read through visit_fields, the
// one list of the fields (as the configs do).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace sf {

struct TrainingState {
  std::int64_t step = 0;            // batches processed (the LR schedule's clock)
  std::int64_t epoch = 0;           // current epoch (0-based)
  std::int64_t batch_in_epoch = 0;  // next batch of the current epoch
  double best_validation_accuracy = -1.0;
  std::int64_t best_epoch = -1;     // -1: no evaluation yet
  std::int64_t evaluations_without_improvement = 0;
  double patience_best = -1.0;      // the score patience compares with (from early_stopping_min_epochs on)
  std::int64_t nonfinite_in_row = 0;
  std::int64_t nonfinite_total = 0;
  double elapsed_seconds = 0.0;
  std::int64_t tokens_seen = 0;
  bool finished = false;
  nlohmann::json best_validation = nullptr;  // the metrics of the best evaluation

  nlohmann::json to_json() const;
  // Every field is required, except patience_best, which checkpoints older than it lack (it then
  // starts at best_validation_accuracy, as those runs counted patience).
  static TrainingState from_json(const nlohmann::json& json, const std::string& source);
};

template <class State, class Visitor>
void visit_fields_state(State& state, Visitor&& visitor) {
  visitor("step", state.step);
  visitor("epoch", state.epoch);
  visitor("batch_in_epoch", state.batch_in_epoch);
  visitor("best_validation_accuracy", state.best_validation_accuracy);
  visitor("best_epoch", state.best_epoch);
  visitor("evaluations_without_improvement", state.evaluations_without_improvement);
  visitor("patience_best", state.patience_best);
  visitor("nonfinite_in_row", state.nonfinite_in_row);
  visitor("nonfinite_total", state.nonfinite_total);
  visitor("elapsed_seconds", state.elapsed_seconds);
  visitor("tokens_seen", state.tokens_seen);
  visitor("finished", state.finished);
  visitor("best_validation", state.best_validation);
}

}  // namespace sf
