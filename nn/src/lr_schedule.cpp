// Learning-rate schedules; the formulas are in sf/nn/lr_schedule.hpp.
#include "sf/nn/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sf/core/error.hpp"

namespace sf {
namespace {

constexpr std::pair<LRSchedule::Kind, std::string_view> kKindNames[] = {
    {LRSchedule::Kind::Constant, "constant"},
    {LRSchedule::Kind::WarmupCosine, "warmup_cosine"},
    {LRSchedule::Kind::LinearDecay, "linear"},
    {LRSchedule::Kind::Step, "step"},
};

// The one list of the numeric fields and their JSON names: to_json, from_json and the list of
// valid keys in error messages all come from it. Schedule is LRSchedule or const LRSchedule.
template <class Schedule, class Visit>
void visit_numeric_fields(Schedule& schedule, Visit&& visit) {
  visit("base_learning_rate", schedule.base_learning_rate);
  visit("warmup_steps", schedule.warmup_steps);
  visit("total_steps", schedule.total_steps);
  visit("minimum_learning_rate", schedule.minimum_learning_rate);
  visit("step_size", schedule.step_size);
  visit("gamma", schedule.gamma);
}

std::vector<std::string> valid_keys() {
  std::vector<std::string> keys{"kind"};
  LRSchedule schedule;
  visit_numeric_fields(schedule, [&](const char* name, auto&) { keys.emplace_back(name); });
  return keys;
}

}  // namespace

std::string_view lr_schedule_kind_name(LRSchedule::Kind kind) {
  for (const auto& [candidate, name] : kKindNames)
    if (candidate == kind) return name;
  fail("lr schedule: invalid kind value {}", static_cast<int>(kind));
}

LRSchedule::Kind parse_lr_schedule_kind(std::string_view name) {
  std::vector<std::string_view> names;
  for (const auto& [kind, candidate] : kKindNames) {
    if (candidate == name) return kind;
    names.push_back(candidate);
  }
  fail("lr schedule: unknown kind \"{}\" (valid: {})", name, fmt::join(names, ", "));
}

void LRSchedule::validate() const {
  const std::string_view name = lr_schedule_kind_name(kind);
  SF_CHECK(std::isfinite(base_learning_rate) && base_learning_rate >= 0.0,
           "lr schedule {}: base_learning_rate must be finite and >= 0, got {}", name, base_learning_rate);
  SF_CHECK(std::isfinite(minimum_learning_rate) && minimum_learning_rate >= 0.0 &&
               minimum_learning_rate <= base_learning_rate,
           "lr schedule {}: minimum_learning_rate must lie in [0, base_learning_rate = {}], got {}", name,
           base_learning_rate, minimum_learning_rate);
  SF_CHECK(warmup_steps >= 0, "lr schedule {}: warmup_steps must be >= 0, got {}", name, warmup_steps);
  if (kind == Kind::WarmupCosine || kind == Kind::LinearDecay)
    SF_CHECK(total_steps > warmup_steps,
             "lr schedule {}: total_steps ({}) must be larger than warmup_steps ({}) so the decay has length",
             name, total_steps, warmup_steps);
  if (kind == Kind::Step) {
    SF_CHECK(step_size >= 1, "lr schedule step: step_size must be >= 1, got {}", step_size);
    SF_CHECK(std::isfinite(gamma) && gamma > 0.0, "lr schedule step: gamma must be finite and > 0, got {}", gamma);
  }
}

double LRSchedule::learning_rate(std::int64_t step) const {
  validate();
  SF_CHECK(step >= 0, "lr schedule {}: step must be >= 0, got {}", lr_schedule_kind_name(kind), step);
  if (step < warmup_steps) return base_learning_rate * static_cast<double>(step) / static_cast<double>(warmup_steps);
  const std::int64_t since_warmup = step - warmup_steps;
  const auto decay_progress = [&] {
    return std::min(1.0, static_cast<double>(since_warmup) / static_cast<double>(total_steps - warmup_steps));
  };
  switch (kind) {
    case Kind::Constant:
      return base_learning_rate;
    case Kind::WarmupCosine:
      return minimum_learning_rate + (base_learning_rate - minimum_learning_rate) * 0.5 *
                                         (1.0 + std::cos(std::numbers::pi * decay_progress()));
    case Kind::LinearDecay:
      return minimum_learning_rate + (base_learning_rate - minimum_learning_rate) * (1.0 - decay_progress());
    case Kind::Step: {
      const double decays = static_cast<double>(since_warmup / step_size);
      return std::max(minimum_learning_rate, base_learning_rate * std::pow(gamma, decays));
    }
  }
  fail("lr schedule: invalid kind value {}", static_cast<int>(kind));
}

nlohmann::json LRSchedule::to_json() const {
  nlohmann::json json = {{"kind", lr_schedule_kind_name(kind)}};
  visit_numeric_fields(*this, [&](const char* name, const auto& value) { json[name] = value; });
  return json;
}

LRSchedule LRSchedule::from_json(const nlohmann::json& json) {
  SF_CHECK(json.is_object(), "lr schedule: expected a JSON object, got a JSON {}: {}", json.type_name(), json.dump());
  const std::vector<std::string> keys = valid_keys();
  for (const auto& [key, value] : json.items())
    SF_CHECK(std::find(keys.begin(), keys.end(), key) != keys.end(), "lr schedule: unknown field \"{}\" (valid: {})",
             key, fmt::join(keys, ", "));

  LRSchedule schedule;
  if (json.contains("kind")) {
    const nlohmann::json& kind = json["kind"];
    SF_CHECK(kind.is_string(), "lr schedule: \"kind\" must be a string, got {}", kind.dump());
    schedule.kind = parse_lr_schedule_kind(kind.get<std::string>());
  }
  visit_numeric_fields(schedule, [&](const char* name, auto& field) {
    if (!json.contains(name)) return;
    const nlohmann::json& value = json[name];
    using Field = std::decay_t<decltype(field)>;
    if constexpr (std::is_integral_v<Field>) {
      SF_CHECK(value.is_number_integer(), "lr schedule: \"{}\" must be an integer, got {}", name, value.dump());
    } else {
      SF_CHECK(value.is_number(), "lr schedule: \"{}\" must be a number, got {}", name, value.dump());
    }
    field = value.get<Field>();
  });
  schedule.validate();
  return schedule;
}

}  // namespace sf
