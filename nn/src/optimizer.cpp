#include "sf/nn/optimizer.hpp"

#include <cmath>

#include "sf/core/compute.hpp"
#include "sf/core/parallel.hpp"

namespace sf::nn {
namespace {

bool is_decayed(const std::string& name, const Variable& parameter) {
  return parameter.dim() >= 2 && name.find("embed") == std::string::npos;
}

const Tensor* find_tensor(const NamedTensors& tensors, const std::string& name) {
  for (const auto& [entry_name, tensor] : tensors)
    if (entry_name == name) return &tensor;
  return nullptr;
}

Tensor load_slot(const NamedTensors& tensors, const std::string& name, const Variable& parameter, const char* optimizer) {
  const Tensor* found = find_tensor(tensors, name);
  if (!found) fail("{}: optimizer state '{}' is missing from the checkpoint", optimizer, name);
  if (found->shape() != parameter.shape())
    fail("{}: optimizer state '{}' has shape {}, the parameter has {}", optimizer, name, shape_string(found->shape()),
         shape_string(parameter.shape()));
  return found->to(parameter.dtype()).clone();
}

// Σ g² of one tensor in double, with a fixed chunking (bit-identical for any thread count).
double sum_of_squares(const Tensor& gradient) {
  const Tensor dense = gradient.contiguous();
  return dispatch_dtype(dense.dtype(), [&](auto tag) -> double {
    using T = decltype(tag);
    const T* values = dense.data<T>();
    return parallel::parallel_reduce_fixed(
        std::int64_t{0}, dense.numel(), parallel::grain::reduction, 0.0,
        [&](std::int64_t begin, std::int64_t end) {
          double total = 0.0;
          for (std::int64_t index = begin; index < end; ++index) total += static_cast<double>(values[index]) * values[index];
          return total;
        },
        [](double a, double b) { return a + b; });
  });
}

}  // namespace

std::vector<ParameterGroup> decay_groups(const Module& module, double weight_decay) {
  ParameterGroup decayed{{}, weight_decay}, not_decayed{{}, 0.0};
  for (auto& [name, parameter] : module.named_parameters()) {
    if (!parameter.requires_grad()) continue;
    (is_decayed(name, parameter) ? decayed : not_decayed).parameters.emplace_back(name, parameter);
  }
  return {decayed, not_decayed};
}

std::vector<ParameterGroup> single_group(const Module& module, double weight_decay) {
  ParameterGroup group{{}, weight_decay};
  for (auto& [name, parameter] : module.named_parameters())
    if (parameter.requires_grad()) group.parameters.emplace_back(name, parameter);
  return {group};
}

Optimizer::Optimizer(std::vector<ParameterGroup> groups, double learning_rate)
    : groups_(std::move(groups)), learning_rate_(learning_rate) {
  if (!(learning_rate >= 0.0)) fail("optimizer: learning rate must be non-negative, got {}", learning_rate);
}

void Optimizer::zero_grad() {
  for (auto& group : groups_)
    for (auto& [name, parameter] : group.parameters) parameter.zero_grad();
}

// ---- AdamW ----------------------------------------------------------------------------------

AdamW::AdamW(std::vector<ParameterGroup> groups, const AdamWOptions& adamw_options)
    : Optimizer(std::move(groups), adamw_options.learning_rate), options(adamw_options) {
  if (!(options.beta1 >= 0.0 && options.beta1 < 1.0) || !(options.beta2 >= 0.0 && options.beta2 < 1.0))
    fail("AdamW: betas must be in [0, 1), got ({}, {})", options.beta1, options.beta2);
  for (const auto& group : groups_) {
    first_moments_.emplace_back();
    second_moments_.emplace_back();
    for (const auto& [name, parameter] : group.parameters) {
      first_moments_.back().push_back(Tensor::zeros(parameter.shape(), parameter.dtype()));
      second_moments_.back().push_back(Tensor::zeros(parameter.shape(), parameter.dtype()));
    }
  }
}

void AdamW::step() {
  ++step_count_;
  for (std::size_t group_index = 0; group_index < groups_.size(); ++group_index) {
    ParameterGroup& group = groups_[group_index];
    const compute::AdamWStep update{learning_rate_, options.beta1, options.beta2, options.epsilon, group.weight_decay,
                                    step_count_};
    for (std::size_t index = 0; index < group.parameters.size(); ++index) {
      Variable& parameter = group.parameters[index].second;
      if (!parameter.grad().defined()) continue;
      compute::adamw_update_(parameter.data(), parameter.grad(), first_moments_[group_index][index],
                             second_moments_[group_index][index], update);
    }
  }
}

NamedTensors AdamW::state() const {
  NamedTensors tensors;
  for (std::size_t group_index = 0; group_index < groups_.size(); ++group_index)
    for (std::size_t index = 0; index < groups_[group_index].parameters.size(); ++index) {
      const std::string& name = groups_[group_index].parameters[index].first;
      tensors.emplace_back(name + ".exp_avg", first_moments_[group_index][index]);
      tensors.emplace_back(name + ".exp_avg_sq", second_moments_[group_index][index]);
    }
  return tensors;
}

void AdamW::load_state(const NamedTensors& tensors, std::int64_t step) {
  for (std::size_t group_index = 0; group_index < groups_.size(); ++group_index)
    for (std::size_t index = 0; index < groups_[group_index].parameters.size(); ++index) {
      const auto& [name, parameter] = groups_[group_index].parameters[index];
      first_moments_[group_index][index] = load_slot(tensors, name + ".exp_avg", parameter, "AdamW");
      second_moments_[group_index][index] = load_slot(tensors, name + ".exp_avg_sq", parameter, "AdamW");
    }
  step_count_ = step;
}

// ---- SGD ------------------------------------------------------------------------------------

SGD::SGD(std::vector<ParameterGroup> groups, const SGDOptions& sgd_options)
    : Optimizer(std::move(groups), sgd_options.learning_rate), options(sgd_options) {
  if (options.nesterov && (options.momentum <= 0.0 || options.dampening != 0.0))
    fail("SGD: Nesterov momentum needs momentum > 0 and dampening 0 (got momentum {}, dampening {})", options.momentum,
         options.dampening);
  for (const auto& group : groups_) velocities_.emplace_back(group.parameters.size());
}

void SGD::step() {
  ++step_count_;
  for (std::size_t group_index = 0; group_index < groups_.size(); ++group_index) {
    ParameterGroup& group = groups_[group_index];
    for (std::size_t index = 0; index < group.parameters.size(); ++index) {
      Variable& parameter = group.parameters[index].second;
      if (!parameter.grad().defined()) continue;
      Tensor& velocity = velocities_[group_index][index];
      const bool first = !velocity.defined();
      if (first && options.momentum != 0.0) velocity = Tensor::zeros(parameter.shape(), parameter.dtype());
      Tensor& data = parameter.data();
      const Tensor gradient = parameter.grad().contiguous();
      dispatch_dtype(data.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* values = data.data<T>();
        const T* grads = gradient.data<T>();
        T* buffer = options.momentum != 0.0 ? velocity.data<T>() : nullptr;
        const double weight_decay = group.weight_decay, momentum = options.momentum, dampening = options.dampening;
        const double learning_rate = learning_rate_;
        const bool nesterov = options.nesterov;
        parallel::parallel_for(0, data.numel(), parallel::grain::elementwise, [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t element = begin; element < end; ++element) {
            double g = static_cast<double>(grads[element]) + weight_decay * static_cast<double>(values[element]);
            if (buffer) {
              const double b = first ? g : momentum * static_cast<double>(buffer[element]) + (1.0 - dampening) * g;
              buffer[element] = static_cast<T>(b);
              g = nesterov ? g + momentum * b : b;
            }
            values[element] = static_cast<T>(static_cast<double>(values[element]) - learning_rate * g);
          }
        });
      });
      data.bump_version();
    }
  }
}

NamedTensors SGD::state() const {
  NamedTensors tensors;
  for (std::size_t group_index = 0; group_index < groups_.size(); ++group_index)
    for (std::size_t index = 0; index < groups_[group_index].parameters.size(); ++index)
      if (velocities_[group_index][index].defined())
        tensors.emplace_back(groups_[group_index].parameters[index].first + ".momentum_buffer",
                             velocities_[group_index][index]);
  return tensors;
}

void SGD::load_state(const NamedTensors& tensors, std::int64_t step) {
  for (std::size_t group_index = 0; group_index < groups_.size(); ++group_index)
    for (std::size_t index = 0; index < groups_[group_index].parameters.size(); ++index) {
      const auto& [name, parameter] = groups_[group_index].parameters[index];
      const bool present = find_tensor(tensors, name + ".momentum_buffer") != nullptr;
      velocities_[group_index][index] =
          present ? load_slot(tensors, name + ".momentum_buffer", parameter, "SGD") : Tensor();
    }
  step_count_ = step;
}

// ---- clipping -------------------------------------------------------------------------------

double global_grad_norm(const std::vector<Variable>& parameters) {
  double total = 0.0;
  for (const Variable& parameter : parameters)
    if (parameter.grad().defined()) total += sum_of_squares(parameter.grad());
  return std::sqrt(total);
}

double clip_grad_norm(const std::vector<Variable>& parameters, double max_norm) {
  const double norm = global_grad_norm(parameters);
  if (!std::isfinite(norm) || max_norm <= 0.0) return norm;
  // PyTorch: scale = max_norm / (norm + 1e-6), applied only when it is below 1.
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1.0)
    for (const Variable& parameter : parameters)
      if (parameter.grad().defined()) {
        Tensor gradient = parameter.grad();
        compute::scale_(gradient, scale);
      }
  return norm;
}

}  // namespace sf::nn
