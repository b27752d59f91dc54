#include "sf/nn/checkpoint.hpp"

namespace sf::nn {
namespace {
const std::string kOptimizerPrefix = "optimizer.";
const std::string kAveragePrefix = "ema.";
}

nlohmann::json optimizer_description(const Optimizer& optimizer) {
  nlohmann::json description = {{"kind", optimizer.kind()},
                                {"step", optimizer.step_count()},
                                {"learning_rate", optimizer.learning_rate()}};
  if (const auto* adamw = dynamic_cast<const AdamW*>(&optimizer)) {
    description["beta1"] = adamw->options.beta1;
    description["beta2"] = adamw->options.beta2;
    description["epsilon"] = adamw->options.epsilon;
  } else if (const auto* sgd = dynamic_cast<const SGD*>(&optimizer)) {
    description["momentum"] = sgd->options.momentum;
    description["dampening"] = sgd->options.dampening;
    description["nesterov"] = sgd->options.nesterov;
  }
  nlohmann::json decays = nlohmann::json::array();
  for (const ParameterGroup& group : optimizer.groups()) decays.push_back(group.weight_decay);
  description["group_weight_decays"] = decays;
  return description;
}

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                     const nlohmann::json& metadata, const ExponentialMovingAverage* average) {
  NamedTensors tensors;
  for (const auto& [name, parameter] : model.named_parameters()) tensors.emplace_back(name, parameter.data());
  nlohmann::json full_metadata = metadata.is_null() ? nlohmann::json::object() : metadata;
  if (optimizer) {
    for (const auto& [name, tensor] : optimizer->state()) tensors.emplace_back(kOptimizerPrefix + name, tensor);
    full_metadata["optimizer"] = optimizer_description(*optimizer);
  }
  if (average) {
    for (const auto& [name, tensor] : average->state()) tensors.emplace_back(kAveragePrefix + name, tensor);
    full_metadata["ema"] = {{"decay", average->decay()}, {"updates", average->updates()}};
  }
  save_safetensors(path, tensors, full_metadata);
}

LoadedCheckpoint load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer, bool strict,
                                 ExponentialMovingAverage* average) {
  SafetensorsFile file = load_safetensors(path);
  SafetensorsFile model_part;
  NamedTensors optimizer_part, average_part;
  for (auto& [name, tensor] : file.tensors) {
    if (name.rfind(kOptimizerPrefix, 0) == 0) optimizer_part.emplace_back(name.substr(kOptimizerPrefix.size()), tensor);
    else if (name.rfind(kAveragePrefix, 0) == 0) average_part.emplace_back(name.substr(kAveragePrefix.size()), tensor);
    else model_part.tensors.emplace_back(name, tensor);
  }
  NamedTensors destinations;
  for (auto& [name, parameter] : model.named_parameters()) destinations.emplace_back(name, parameter.data());
  LoadedCheckpoint loaded;
  loaded.report = load_into(model_part, destinations, strict, path);
  // load_into copies in place: bump versions so graphs built before the load cannot reuse them.
  for (auto& [name, parameter] : model.named_parameters()) parameter.data().bump_version();
  loaded.metadata = file.metadata;
  if (optimizer) {
    if (!file.metadata.contains("optimizer"))
      fail("load_checkpoint: {} holds no optimizer state (it is a model-only file); cannot resume training from it", path);
    const nlohmann::json& description = file.metadata["optimizer"];
    const std::string kind = description.value("kind", std::string());
    if (kind != optimizer->kind())
      fail("load_checkpoint: {} holds {} optimizer state, but the run uses {}", path, kind, optimizer->kind());
    try {
      optimizer->load_state(optimizer_part, description.at("step").get<std::int64_t>());
    } catch (const nlohmann::json::exception& error) {
      fail("load_checkpoint: {}: invalid optimizer metadata: {}", path, error.what());
    } catch (const Error& error) {
      fail("load_checkpoint: {}: {}", path, error.what());
    }
  }
  if (average) {
    if (!file.metadata.contains("ema"))
      fail("load_checkpoint: {} holds no moving average of the weights, but the run keeps one (ema_decay)", path);
    try {
      average->load_state(average_part, file.metadata["ema"].at("updates").get<std::int64_t>());
    } catch (const nlohmann::json::exception& error) {
      fail("load_checkpoint: {}: invalid moving-average metadata: {}", path, error.what());
    } catch (const Error& error) {
      fail("load_checkpoint: {}: {}", path, error.what());
    }
  }
  loaded.metadata.erase("optimizer");
  loaded.metadata.erase("ema");
  return loaded;
}

}  // namespace sf::nn
