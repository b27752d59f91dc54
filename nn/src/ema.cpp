#include "sf/nn/ema.hpp"

#include <algorithm>

#include "sf/core/compute.hpp"
#include "sf/core/error.hpp"

namespace sf::nn {

ExponentialMovingAverage::ExponentialMovingAverage(const Module& module, double decay)
    : decay_(decay), parameters_(module.named_parameters()) {
  SF_CHECK(decay >= 0.0 && decay < 1.0, "ExponentialMovingAverage: decay must be in [0, 1), got {}", decay);
  for (const auto& [name, parameter] : parameters_) averages_.push_back(parameter.data().clone());
}

void ExponentialMovingAverage::update() {
  ++updates_;
  const double step = static_cast<double>(updates_);
  const double decay = std::min(decay_, (1.0 + step) / (10.0 + step));
  for (std::size_t index = 0; index < averages_.size(); ++index) {
    compute::scale_(averages_[index], decay);
    compute::add_(averages_[index], parameters_[index].second.data(), 1.0 - decay);
  }
}

void ExponentialMovingAverage::swap() {
  for (std::size_t index = 0; index < averages_.size(); ++index) {
    Tensor live = parameters_[index].second.data().clone();
    Tensor& parameter = parameters_[index].second.data();
    parameter.copy_from(averages_[index]);
    parameter.bump_version();
    averages_[index] = live;
  }
}

NamedTensors ExponentialMovingAverage::state() const {
  NamedTensors tensors;
  for (std::size_t index = 0; index < averages_.size(); ++index) tensors.emplace_back(parameters_[index].first, averages_[index]);
  return tensors;
}

void ExponentialMovingAverage::load_state(const NamedTensors& tensors, std::int64_t updates) {
  for (std::size_t index = 0; index < averages_.size(); ++index) {
    const std::string& name = parameters_[index].first;
    const auto found = std::find_if(tensors.begin(), tensors.end(), [&](const auto& entry) { return entry.first == name; });
    if (found == tensors.end()) fail("ExponentialMovingAverage: the state has no average for '{}'", name);
    if (found->second.shape() != averages_[index].shape())
      fail("ExponentialMovingAverage: the average of '{}' has shape {}, the parameter {}", name,
           shape_string(found->second.shape()), shape_string(averages_[index].shape()));
    averages_[index] = found->second.to(averages_[index].dtype()).clone();
  }
  if (tensors.size() != averages_.size())
    fail("ExponentialMovingAverage: the state has {} averages but the model {} parameters", tensors.size(), averages_.size());
  updates_ = updates;
}

}  // namespace sf::nn
