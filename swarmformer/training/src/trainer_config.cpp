// TrainingConfig I/O and the resolution of a config document plus --set overrides.
#include <algorithm>

#include "sf/core/error.hpp"
#include "sf/core/kernels/gemm_bf16.hpp"
#include "sf/swarmformer/augment.hpp"
#include "sf/swarmformer/training_config.hpp"

namespace sf {
namespace {

template <class T>
void read_value(const nlohmann::json& value, T& field, const std::string& key, const std::string& source) {
  bool ok = false;
  if constexpr (std::is_same_v<T, bool>) ok = value.is_boolean();
  else if constexpr (std::is_same_v<T, std::int64_t>) ok = value.is_number_integer();
  else if constexpr (std::is_same_v<T, double>) ok = value.is_number();
  else ok = value.is_string();
  if (!ok) fail("{}: '{}' has the wrong type: {}", source, key, value.dump());
  field = value.get<T>();
}

}  // namespace

bool uses_bfloat16(const std::string& precision) {
  return precision == "bf16" ||
         (precision == "auto" && kernels::bfloat16_path_available(kernels::Bfloat16Path::Avx512Bf16));
}

bool uses_bfloat16(const TrainingConfig& training) { return uses_bfloat16(training.precision); }

std::string arithmetic_description(const TrainingConfig& training) {
  if (training.precision == "fp64") return "float64";
  if (!uses_bfloat16(training)) return "float32";
  return fmt::format("bfloat16 products ({}), float32 elsewhere", kernels::bfloat16_path_name(kernels::bfloat16_path()));
}

void TrainingConfig::validate(const std::string& source) const {
  if (batch_size <= 0) fail("{}: batch_size must be positive, got {}", source, batch_size);
  if (epochs <= 0) fail("{}: epochs must be positive, got {}", source, epochs);
  if (!(learning_rate > 0.0)) fail("{}: learning_rate must be positive, got {}", source, learning_rate);
  if (!(weight_decay >= 0.0)) fail("{}: weight_decay must be non-negative, got {}", source, weight_decay);
  if (!(warmup_fraction >= 0.0 && warmup_fraction < 1.0))
    fail("{}: warmup_fraction must be in [0, 1), got {}", source, warmup_fraction);
  if (schedule != "warmup_cosine" && schedule != "linear" && schedule != "constant")
    fail("{}: schedule must be warmup_cosine, linear or constant, got \"{}\"", source, schedule);
  if (!(minimum_learning_rate >= 0.0 && minimum_learning_rate <= learning_rate))
    fail("{}: minimum_learning_rate must be in [0, learning_rate], got {}", source, minimum_learning_rate);
  if (!(gradient_clip >= 0.0)) fail("{}: gradient_clip must be non-negative, got {}", source, gradient_clip);
  if (!(label_smoothing >= 0.0 && label_smoothing < 1.0))
    fail("{}: label_smoothing must be in [0, 1), got {}", source, label_smoothing);
  if (!(validation_fraction > 0.0 && validation_fraction < 1.0))
    fail("{}: validation_fraction must be in (0, 1), got {}", source, validation_fraction);
  if (early_stopping_patience < 0 || max_train_examples < 0 || max_eval_examples < 0 || max_steps < 0 ||
      checkpoint_every_steps < 0 || eval_every_steps < 0)
    fail("{}: early_stopping_patience, max_*, checkpoint_every_steps and eval_every_steps must be non-negative", source);
  if (!(allreduce_bucket_mb >= 0.0 && allreduce_bucket_mb <= 2048.0))
    fail("{}: allreduce_bucket_mb must be in [0, 2048], got {}", source, allreduce_bucket_mb);
  if (check_parameters_every < 0) fail("{}: check_parameters_every must be non-negative, got {}", source, check_parameters_every);
  if (checkpoint_selection != "validation" && checkpoint_selection != "test")
    fail("{}: checkpoint_selection must be \"validation\" or \"test\", got \"{}\"", source, checkpoint_selection);
  if (early_stopping_min_epochs < 0)
    fail("{}: early_stopping_min_epochs must be non-negative, got {}", source, early_stopping_min_epochs);
  if (weight_decay_scope != "matrices" && weight_decay_scope != "all")
    fail("{}: weight_decay_scope must be \"matrices\" or \"all\", got \"{}\"", source, weight_decay_scope);
  if (!(ema_decay >= 0.0 && ema_decay < 1.0)) fail("{}: ema_decay must be in [0, 1), got {}", source, ema_decay);
  if (precision != "fp32" && precision != "fp64" && precision != "bf16" && precision != "auto")
    fail("{}: precision must be \"fp32\", \"fp64\", \"bf16\" or \"auto\", got \"{}\"", source, precision);
  if (!(augment_synonym_word_probability >= 0.0 && augment_synonym_word_probability <= 1.0))
    fail("{}: augment_synonym_word_probability must be in [0, 1], got {}", source, augment_synonym_word_probability);
  try {
    (void)AugmentOptions::parse(augment);
  } catch (const Error& error) {
    fail("{}: {}", source, error.what());
  }
  if (!(mask_fraction > 0.0 && mask_fraction <= 1.0)) fail("{}: mask_fraction must be in (0, 1], got {}", source, mask_fraction);
  if (pretrain_windows < 1 || pretrain_windows > 64)
    fail("{}: pretrain_windows must be in [1, 64], got {}", source, pretrain_windows);
  if (eval_batch_size <= 0 || log_every <= 0 || max_nonfinite_steps <= 0)
    fail("{}: eval_batch_size, log_every and max_nonfinite_steps must be positive", source);
}

nlohmann::json TrainingConfig::to_json() const {
  nlohmann::json json = nlohmann::json::object();
  visit_fields_training(*this, [&](const char* name, const auto& field, const char*) { json[name] = field; });
  return json;
}

TrainingConfig TrainingConfig::from_json(const nlohmann::json& json, const std::string& source) {
  if (!json.is_object()) fail("{}: the training section must be a JSON object", source);
  TrainingConfig config;
  std::vector<std::string> known;
  visit_fields_training(config, [&](const char* name, auto&, const char*) { known.emplace_back(name); });
  for (const auto& [key, value] : json.items())
    if (std::find(known.begin(), known.end(), key) == known.end() && key.rfind("_comment", 0) != 0)
      fail("{}: unknown training key '{}'", source, key);
  visit_fields_training(config, [&](const char* name, auto& field, const char*) {
    if (json.contains(name)) read_value(json.at(name), field, name, source);
  });
  config.validate(source);
  return config;
}

ResolvedConfig resolve_config(const std::string& preset_or_path, const std::vector<std::string>& overrides) {
  nlohmann::json document = load_config_document(preset_or_path);
  if (!document.contains("training")) document["training"] = nlohmann::json::object();
  const nlohmann::json model_fields = SwarmFormerConfig().to_json();
  const nlohmann::json training_fields = TrainingConfig().to_json();
  for (const std::string& assignment : overrides) {
    check_utf8_text(assignment, "--set");
    const auto equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) fail("--set: expected key=value, got '{}'", assignment);
    std::string key = assignment.substr(0, equals);
    const std::string text = assignment.substr(equals + 1);
    nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
    if (value.is_discarded()) value = text;
    std::string section;
    if (key.rfind("model.", 0) == 0) section = "model", key = key.substr(6);
    else if (key.rfind("training.", 0) == 0) section = "training", key = key.substr(9);
    else if (model_fields.contains(key)) section = "model";
    else if (training_fields.contains(key)) section = "training";
    else fail("--set {}: unknown key '{}' (not a model or training field)", assignment, key);
    document[section][key] = value;
  }
  ResolvedConfig resolved;
  resolved.model = SwarmFormerConfig::from_json(document["model"], preset_or_path + " (model)");
  resolved.training = TrainingConfig::from_json(document["training"], preset_or_path + " (training)");
  resolved.document = {{"model", resolved.model.to_json()}, {"training", resolved.training.to_json()}};
  return resolved;
}

}  // namespace sf
