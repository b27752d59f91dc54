#include "sf/swarmformer/training_step.hpp"

#include <algorithm>
#include <cmath>

#include "sf/autograd/functional.hpp"
#include "sf/core/compute.hpp"

namespace sf {

std::unique_ptr<nn::AdamW> make_optimizer(const SwarmFormer& model, const TrainingConfig& training) {
  return std::make_unique<nn::AdamW>(training.weight_decay_scope == "all" ? nn::single_group(model, training.weight_decay)
                                                                          : nn::decay_groups(model, training.weight_decay),
                                     nn::AdamWOptions{.learning_rate = training.learning_rate});
}

LRSchedule make_schedule(const TrainingConfig& training, std::int64_t total_steps) {
  LRSchedule schedule;
  schedule.kind = parse_lr_schedule_kind(training.schedule);
  schedule.base_learning_rate = training.learning_rate;
  schedule.minimum_learning_rate = training.minimum_learning_rate;
  schedule.total_steps = std::max<std::int64_t>(total_steps, 1);
  schedule.warmup_steps = std::min(static_cast<std::int64_t>(std::llround(training.warmup_fraction * static_cast<double>(total_steps))),
                                   schedule.total_steps - 1);
  return schedule;
}

StepOutcome forward_backward(SwarmFormer& model, const Batch& batch, std::int64_t global_count, double label_smoothing,
                             const GradientReducer::LeafReadyHook& hook) {
  StepOutcome outcome;
  const Variable logits = model.forward(batch.ids, batch.count);
  // Σ_rows loss / global batch: summed over ranks this is exactly the global mean.
  const Variable summed = cross_entropy(logits, batch.labels, {.label_smoothing = label_smoothing, .reduction = Reduction::Sum});
  (summed * (1.0 / static_cast<double>(global_count))).backward(Tensor(), /*retain_graph=*/false, hook);
  outcome.loss_sum = summed.item();
  outcome.units = static_cast<double>(batch.count);
  const std::vector<std::int64_t> predictions = compute::argmax(logits.data(), -1);
  for (std::size_t index = 0; index < predictions.size(); ++index)
    outcome.correct += predictions[index] == batch.labels[index] ? 1.0 : 0.0;
  return outcome;
}

UpdateOutcome apply_update(const std::vector<Variable>& parameters, nn::Optimizer& optimizer, const LRSchedule& schedule,
                           std::int64_t step, double gradient_clip, double batch_loss, nn::ExponentialMovingAverage* average) {
  UpdateOutcome outcome;
  outcome.gradient_norm = nn::clip_grad_norm(parameters, gradient_clip);
  outcome.applied = std::isfinite(batch_loss) && std::isfinite(outcome.gradient_norm);
  if (outcome.applied) {
    optimizer.set_learning_rate(schedule.learning_rate(step));
    optimizer.step();
    if (average) average->update();
  }
  optimizer.zero_grad();
  return outcome;
}

}  // namespace sf
