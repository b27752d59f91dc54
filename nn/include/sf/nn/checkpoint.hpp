// Training checkpoints: a model, optionally its optimizer, and metadata in one safetensors file.
//
//   tensors   "<parameter name>"                    the model's parameters (PyTorch state_dict names)
//             "optimizer.<parameter name>.<slot>"   optimizer state (AdamW: exp_avg, exp_avg_sq)
//             "ema.<parameter name>"                the moving average of the weights, when kept
//   metadata  whatever the caller passes (config, RNG state, data cursor, ...) plus
//             "optimizer": {"kind", "step", hyperparameters} when an optimizer is saved and
//             "ema": {"decay", "updates"} when a moving average is.
//
// A model-only file is a plain state_dict that Python tools load as is; the writer is atomic
// (sf/nn/safetensors.hpp), so an interrupted save never damages the previous checkpoint.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sf/nn/ema.hpp"
#include "sf/nn/module.hpp"
#include "sf/nn/optimizer.hpp"
#include "sf/nn/safetensors.hpp"

namespace sf::nn {

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                     const nlohmann::json& metadata, const ExponentialMovingAverage* average = nullptr);

struct LoadedCheckpoint {
  nlohmann::json metadata;  // the caller's metadata (an object)
  LoadReport report;        // names skipped when strict = false
};

// Loads the model's parameters by name (strict: every parameter present, no extra tensors
// besides the optimizer's and the average's) and, when `optimizer` is given, its state and step;
// when `average` is given, the moving average (the file must hold one). Errors name the file and
// what is wrong.
LoadedCheckpoint load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer, bool strict = true,
                                 ExponentialMovingAverage* average = nullptr);

// The optimizer's hyperparameters as JSON ({"kind": "adamw", "learning_rate": ..., ...}).
nlohmann::json optimizer_description(const Optimizer& optimizer);

}  // namespace sf::nn
