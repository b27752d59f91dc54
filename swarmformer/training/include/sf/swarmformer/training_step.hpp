// One optimizer step of the trainer, in pieces: the optimizer and schedule a config asks for,
// forward + backward of a batch, and the update. run_training (trainer.cpp) and the step-by-step
// PyTorch parity check (`swarmformer trace`, tests/parity) both call exactly these, so the check
// covers the trainer's own arithmetic:
//   loss  = Σ_rows CE(logits, label) / global batch      (label smoothing as configured)
//   ‖g‖   = global L2 norm; g ← g · clip / (‖g‖ + 1e-6) when that factor is below 1
//   η_t   = schedule(t) (warmup + cosine / linear / constant, over the run's total steps)
//   AdamW (β = 0.9, 0.999, ε = 1e-8) with decoupled weight decay on the configured groups
//   e     ← moving average of the weights (ema_decay > 0)
// A step whose loss or gradient norm is not finite changes nothing but the gradients, which
// are cleared either way.
#pragma once

#include <cstdint>
#include <memory>

#include "sf/nn/ema.hpp"
#include "sf/nn/lr_schedule.hpp"
#include "sf/nn/optimizer.hpp"
#include "sf/swarmformer/evaluation.hpp"
#include "sf/swarmformer/gradient_reducer.hpp"
#include "sf/swarmformer/model.hpp"
#include "sf/swarmformer/training_config.hpp"
#include "sf/swarmformer/training_task.hpp"

namespace sf {

// AdamW over decay_groups (weight_decay_scope "matrices") or one group ("all").
std::unique_ptr<nn::AdamW> make_optimizer(const SwarmFormer& model, const TrainingConfig& training);
// The configured schedule over `total_steps`; warmup is warmup_fraction of them (rounded).
LRSchedule make_schedule(const TrainingConfig& training, std::int64_t total_steps);

// Forward and backward of a classification `batch`, one rank's share of a global batch of
// `global_count` rows: the gradients of Σ_rows loss / global_count accumulate into the parameters
// (`hook` as in Variable::backward). Returns Σ_rows loss, the rows predicted right, the rows.
StepOutcome forward_backward(SwarmFormer& model, const Batch& batch, std::int64_t global_count, double label_smoothing,
                             const GradientReducer::LeafReadyHook& hook = {});

struct UpdateOutcome {
  double gradient_norm = 0.0;  // before clipping
  bool applied = false;        // false: loss or gradient not finite, weights untouched
};
// Clips, and when `batch_loss` and the gradient norm are finite sets the learning rate of
// `step`, updates the weights (and `average`); then clears the gradients.
UpdateOutcome apply_update(const std::vector<Variable>& parameters, nn::Optimizer& optimizer, const LRSchedule& schedule,
                           std::int64_t step, double gradient_clip, double batch_loss,
                           nn::ExponentialMovingAverage* average = nullptr);

}  // namespace sf
