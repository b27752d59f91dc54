#include "sf/swarmformer/config.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "sf/core/error.hpp"

namespace sf {

const std::map<std::string, std::string>& builtin_preset_texts();  // presets_generated.cpp

namespace {

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, bool>) return "a boolean";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "an integer";
  else if constexpr (std::is_same_v<T, double>) return "a number";
  else return "a string";
}

template <class T>
void read_field(const nlohmann::json& value, T& field, const std::string& key, const std::string& source) {
  bool ok = false;
  if constexpr (std::is_same_v<T, bool>) ok = value.is_boolean();
  else if constexpr (std::is_same_v<T, std::int64_t>) ok = value.is_number_integer();
  else if constexpr (std::is_same_v<T, double>) ok = value.is_number();
  else ok = value.is_string();
  if (!ok) fail("{}: '{}' must be {}, got {}", source, key, type_name<T>(), value.dump());
  field = value.get<T>();
}

}  // namespace

std::int64_t SwarmFormerConfig::clusters_at(std::int64_t layer) const {
  std::int64_t count = clusters();
  if (is_enhanced() && pyramid)
    for (std::int64_t index = 0; index < layer; ++index) count /= pyramid_factor;
  return count;
}

double SwarmFormerConfig::gumbel_temperature(std::int64_t step) const {
  if (gumbel_anneal_steps <= 0) return gumbel_temperature_end;
  const double progress = std::clamp(static_cast<double>(step) / static_cast<double>(gumbel_anneal_steps), 0.0, 1.0);
  return gumbel_temperature_start + (gumbel_temperature_end - gumbel_temperature_start) * progress;
}

void SwarmFormerConfig::validate(const std::string& source) const {
  if (variant != "original" && variant != "enhanced")
    fail("{}: variant must be \"original\" or \"enhanced\", got \"{}\"", source, variant);
  auto positive = [&](const char* name, std::int64_t value) {
    if (value <= 0) fail("{}: {} must be positive, got {}", source, name, value);
  };
  positive("vocab_size", vocab_size);
  positive("d_model", d_model);
  positive("seq_len", seq_len);
  positive("cluster_size", cluster_size);
  positive("num_layers", num_layers);
  positive("local_steps", local_steps);
  if (num_classes < 2) fail("{}: num_classes must be at least 2, got {}", source, num_classes);
  if (pad_id < 0 || pad_id >= vocab_size) fail("{}: pad_id {} out of range for vocab_size {}", source, pad_id, vocab_size);
  if (seq_len % cluster_size != 0)
    fail("{}: seq_len {} is not divisible by cluster_size {} (clusters must tile the sequence)", source, seq_len,
         cluster_size);
  for (auto [name, rate] : {std::pair{"embedding_dropout", embedding_dropout}, {"local_dropout", local_dropout},
                            {"attention_dropout", attention_dropout}, {"attention_output_dropout", attention_output_dropout},
                            {"broadcast_dropout", broadcast_dropout}, {"classifier_dropout", classifier_dropout}})
    if (!(rate >= 0.0 && rate < 1.0)) fail("{}: {} must be in [0, 1), got {}", source, name, rate);
  if (truncation != "head" && truncation != "tail" && truncation != "head_tail")
    fail("{}: truncation must be \"head\", \"tail\" or \"head_tail\", got \"{}\"", source, truncation);
  if (truncation_head < 0 || truncation_head > seq_len - 2)
    fail("{}: truncation_head {} must be in [0, seq_len - 2 = {}]", source, truncation_head, seq_len - 2);
  if (eval_windows < 1 || eval_windows > 64) fail("{}: eval_windows must be in [1, 64], got {}", source, eval_windows);
  if (!is_enhanced()) return;
  if (local_attention) {
    positive("local_heads", local_heads);
    if (d_model % local_heads != 0)
      fail("{}: local_heads {} does not divide d_model {}", source, local_heads, d_model);
    if (local_window < 1 || local_window >= seq_len)
      fail("{}: local_window {} must be in [1, seq_len - 1 = {}] (a window larger than the sequence)", source,
           local_window, seq_len - 1);
  }
  if (position != "relative" && position != "learned" && position != "none")
    fail("{}: position must be \"relative\", \"learned\" or \"none\", got \"{}\"", source, position);
  if (position == "relative" && !local_attention)
    fail("{}: position \"relative\" is a bias of the local attention; with local_attention off use \"learned\" or \"none\"",
         source);
  if (multi_head_cluster_attention) {
    positive("cluster_heads", cluster_heads);
    if (d_model % cluster_heads != 0)
      fail("{}: cluster_heads {} does not divide d_model {}", source, cluster_heads, d_model);
  }
  if (dynamic_routing && !(routing_token_fraction > 0.0 && routing_token_fraction <= 1.0))
    fail("{}: routing_token_fraction must be in (0, 1], got {}", source, routing_token_fraction);
  if (gated_feedback) positive("feedback_hidden", feedback_hidden);
  if (pyramid) {
    if (pyramid_factor < 2) fail("{}: pyramid_factor must be at least 2, got {}", source, pyramid_factor);
    std::int64_t count = clusters();
    for (std::int64_t layer = 0; layer < num_layers; ++layer) {
      if (count < 1)
        fail("{}: the pyramid falls below one cluster at layer {} ({} clusters / {}^{}); use fewer layers, a smaller "
             "pyramid_factor or more clusters",
             source, layer, clusters(), pyramid_factor, layer);
      if (!dynamic_routing && seq_len % count != 0)
        fail("{}: layer {} has {} clusters, which do not tile seq_len {} (uniform clusters need a divisor)", source,
             layer, count, seq_len);
      count /= pyramid_factor;
    }
  }
  if (gumbel_softmax) {
    if (!(gumbel_temperature_start > 0.0 && gumbel_temperature_end > 0.0))
      fail("{}: Gumbel temperatures must be positive, got {} and {}", source, gumbel_temperature_start,
           gumbel_temperature_end);
    if (gumbel_anneal_steps < 0) fail("{}: gumbel_anneal_steps must be non-negative", source);
  }
}

nlohmann::json SwarmFormerConfig::to_json() const {
  nlohmann::json json = nlohmann::json::object();
  visit_fields(*this, [&](const char* name, const auto& field, const char*) { json[name] = field; });
  return json;
}

SwarmFormerConfig SwarmFormerConfig::from_json(const nlohmann::json& json, const std::string& source) {
  if (!json.is_object()) fail("{}: a config must be a JSON object, got {}", source, json.type_name());
  SwarmFormerConfig config;
  std::vector<std::string> known;
  visit_fields(config, [&](const char* name, auto&, const char*) { known.emplace_back(name); });
  for (const auto& [key, value] : json.items())
    if (std::find(known.begin(), known.end(), key) == known.end() && key.rfind("_comment", 0) != 0)
      fail("{}: unknown config key '{}' (see `swarmformer info` for the fields)", source, key);
  visit_fields(config, [&](const char* name, auto& field, const char*) {
    if (json.contains(name)) read_field(json.at(name), field, name, source);
  });
  config.validate(source);
  return config;
}

void check_utf8_text(const std::string& text, const std::string& source) {
  try {
    (void)nlohmann::json(text).dump();
  } catch (const nlohmann::json::type_error& error) {
    fail("{}: not valid UTF-8 ({})", source, error.what());
  }
}

void SwarmFormerConfig::set(const std::string& assignment, const std::string& source) {
  check_utf8_text(assignment, source);
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0)
    fail("{}: expected key=value, got '{}'", source, assignment);
  const std::string key = assignment.substr(0, equals), text = assignment.substr(equals + 1);
  nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;
  nlohmann::json json = to_json();
  if (!json.contains(key)) fail("{}: unknown config key '{}'", source, key);
  json[key] = value;
  *this = from_json(json, source + " " + assignment);
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, text] : builtin_preset_texts()) names.push_back(name);
  return names;
}

nlohmann::json load_config_document(const std::string& preset_or_path) {
  const auto& presets = builtin_preset_texts();
  std::string text, source;
  if (const auto found = presets.find(preset_or_path); found != presets.end()) {
    text = found->second;
    source = "preset " + preset_or_path;
  } else {
    if (!std::filesystem::is_regular_file(preset_or_path)) {
      std::string available;
      for (const auto& name : preset_names()) available += (available.empty() ? "" : ", ") + name;
      fail("config '{}': neither a preset ({}) nor an existing file", preset_or_path, available);
    }
    std::ifstream stream(preset_or_path);
    std::stringstream buffer;
    buffer << stream.rdbuf();
    text = buffer.str();
    source = preset_or_path;
  }
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {  // syntax, or a number too large for any type
    fail("config {}: invalid JSON: {}", source, error.what());
  }
  if (!json.is_object()) fail("config {}: must be a JSON object with \"model\" and \"training\" sections", source);
  for (const auto& [key, value] : json.items())
    if (key != "model" && key != "training" && key.rfind("_comment", 0) != 0)
      fail("config {}: unknown section '{}' (expected \"model\" and \"training\")", source, key);
  if (!json.contains("model")) fail("config {}: missing the \"model\" section", source);
  return json;
}

SwarmFormerConfig load_config(const std::string& preset_or_path) {
  return SwarmFormerConfig::from_json(load_config_document(preset_or_path).at("model"), preset_or_path);
}

}  // namespace sf
