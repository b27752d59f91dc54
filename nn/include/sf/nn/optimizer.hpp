// Optimizers and gradient clipping.
//
// AdamW (Loshchilov & Hutter; PyTorch's torch.optim.AdamW), per parameter p with gradient g,
// step t, learning rate η, decoupled weight decay λ:
//   p ← p − η λ p
//   m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²
//   p ← p − η m̂ / (sqrt(v̂) + ε),   m̂ = m / (1 − β1ᵗ),  v̂ = v / (1 − β2ᵗ)
// one fused SIMD pass per parameter (core/kernels/adamw).
//
// SGD (PyTorch's torch.optim.SGD): g ← g + λ p;  b ← μ b + (1 − dampening) g (b = g at t = 1);
//   Nesterov: g ← g + μ b, else g ← b;  p ← p − η g
//
// Parameters are given in groups so biases, norms and embeddings can be excluded from weight
// decay (decay_groups). An optimizer's state (moments, velocities, step) is exported as named
// tensors for checkpoints and loaded back for an exact resume.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sf/autograd/variable.hpp"
#include "sf/nn/module.hpp"
#include "sf/nn/safetensors.hpp"

namespace sf::nn {

using NamedVariables = std::vector<std::pair<std::string, Variable>>;

struct ParameterGroup {
  NamedVariables parameters;
  double weight_decay = 0.0;
};

// Two groups: weights of rank >= 2 that are not embeddings get `weight_decay`; biases, norm
// parameters and embedding tables (any name containing "embed") get none.
std::vector<ParameterGroup> decay_groups(const Module& module, double weight_decay);
// One group holding every parameter with the same weight decay.
std::vector<ParameterGroup> single_group(const Module& module, double weight_decay);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update from the current gradients (parameters without a gradient are skipped).
  virtual void step() = 0;
  virtual std::string kind() const = 0;
  // State for checkpoints: tensors named "<parameter name>.<slot>" and the step counter.
  virtual NamedTensors state() const = 0;
  // Restores state(); throws naming the missing or mismatched entry.
  virtual void load_state(const NamedTensors& tensors, std::int64_t step) = 0;

  void zero_grad();
  void set_learning_rate(double learning_rate) { learning_rate_ = learning_rate; }
  double learning_rate() const { return learning_rate_; }
  std::int64_t step_count() const { return step_count_; }
  const std::vector<ParameterGroup>& groups() const { return groups_; }

 protected:
  Optimizer(std::vector<ParameterGroup> groups, double learning_rate);
  std::vector<ParameterGroup> groups_;
  double learning_rate_;
  std::int64_t step_count_ = 0;
};

struct AdamWOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
};

class AdamW : public Optimizer {
 public:
  AdamW(std::vector<ParameterGroup> groups, const AdamWOptions& options);
  void step() override;
  std::string kind() const override { return "adamw"; }
  NamedTensors state() const override;
  void load_state(const NamedTensors& tensors, std::int64_t step) override;
  AdamWOptions options;

 private:
  std::vector<std::vector<Tensor>> first_moments_, second_moments_;  // [group][parameter]
};

struct SGDOptions {
  double learning_rate = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParameterGroup> groups, const SGDOptions& options);
  void step() override;
  std::string kind() const override { return "sgd"; }
  NamedTensors state() const override;
  void load_state(const NamedTensors& tensors, std::int64_t step) override;
  SGDOptions options;

 private:
  std::vector<std::vector<Tensor>> velocities_;  // undefined until the first step
};

// Scales every gradient by min(1, max_norm / ‖g‖) where ‖g‖ is the global L2 norm over all
// parameters; returns ‖g‖ before clipping (may be inf or nan: the caller decides what to do).
double clip_grad_norm(const std::vector<Variable>& parameters, double max_norm);
// ‖g‖ without clipping.
double global_grad_norm(const std::vector<Variable>& parameters);

}  // namespace sf::nn
