// TrainingState to and from JSON, through the one list of its fields (training_state.hpp).
#include "sf/swarmformer/training_state.hpp"

#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sf/core/error.hpp"

namespace sf {

nlohmann::json TrainingState::to_json() const {
  nlohmann::json json = nlohmann::json::object();
  visit_fields_state(*this, [&](const char* name, const auto& field) { json[name] = field; });
  return json;
}

TrainingState TrainingState::from_json(const nlohmann::json& json, const std::string& source) {
  if (!json.is_object()) fail("{}: the checkpoint holds no training state (is it a run's last.safetensors?)", source);
  TrainingState state;
  std::vector<std::string> missing;
  visit_fields_state(state, [&](const char* name, auto& field) {
    using Field = std::decay_t<decltype(field)>;
    if (!json.contains(name)) {
      if (std::string(name) != "patience_best") missing.emplace_back(name);
      return;
    }
    const nlohmann::json& value = json.at(name);
    bool ok = true;
    if constexpr (std::is_same_v<Field, bool>) ok = value.is_boolean();
    else if constexpr (std::is_same_v<Field, std::int64_t>) ok = value.is_number_integer();
    else if constexpr (std::is_same_v<Field, double>) ok = value.is_number();
    if (!ok) fail("{}: the training state's '{}' has the wrong type: {}", source, name, value.dump());
    field = value.get<Field>();
  });
  if (!missing.empty())
    fail("{}: the training state in the checkpoint is incomplete: no {}", source, fmt::join(missing, ", "));
  if (!json.contains("patience_best")) state.patience_best = state.best_validation_accuracy;
  return state;
}

}  // namespace sf
