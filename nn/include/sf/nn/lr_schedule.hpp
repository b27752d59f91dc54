// Learning-rate schedules: pure functions of the optimizer step, so resuming a run needs only
// the step number and the schedule's JSON (stored in the checkpoint metadata).
//
// `step` counts the optimizer updates already taken (0 for the first update), the convention of
// PyTorch's LambdaLR as used by Hugging Face's get_*_schedule_with_warmup. Every kind starts with
// the same linear warmup, then follows its own decay:
//
//   step < W (warmup):   lr = base * step / W                  (so the first update has lr 0)
//   progress p = clamp((step - W) / (T - W), 0, 1)             (T = total_steps)
//   constant:            lr = base
//   warmup_cosine:       lr = min + (base - min) * (1 + cos(pi * p)) / 2
//   linear:              lr = min + (base - min) * (1 - p)
//   step:                lr = max(min, base * gamma^floor((step - W) / step_size))
//
// Cosine and linear stay at `min` after T instead of rising again (HF's cosine would wrap).
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sf {

struct LRSchedule {
  enum class Kind { Constant, WarmupCosine, LinearDecay, Step };

  Kind kind = Kind::Constant;
  double base_learning_rate = 1e-3;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 0;        // warmup_cosine, linear: the step where lr reaches the minimum
  double minimum_learning_rate = 0.0;  // the floor of every decay
  std::int64_t step_size = 1;          // step: updates between two decays
  double gamma = 0.1;                  // step: the factor of each decay

  // The learning rate for the update after `step` updates (step >= 0). Validates first.
  double learning_rate(std::int64_t step) const;
  // Throws sf::Error naming the field when the values make no schedule (e.g. total <= warmup).
  void validate() const;

  // {"kind": "warmup_cosine", "base_learning_rate": 3e-4, "warmup_steps": 100, ...}: every field,
  // always, so the JSON alone reproduces the schedule.
  nlohmann::json to_json() const;
  // Missing fields keep their defaults; unknown fields and unknown kinds are errors that list
  // the valid names. The result is validated.
  static LRSchedule from_json(const nlohmann::json& json);
};

// "constant", "warmup_cosine", "linear", "step".
std::string_view lr_schedule_kind_name(LRSchedule::Kind kind);
// The inverse; throws sf::Error listing the valid names.
LRSchedule::Kind parse_lr_schedule_kind(std::string_view name);

}  // namespace sf
