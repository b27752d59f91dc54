// Exponential moving average of a model's weights (Polyak averaging; the "EMA" of modern
// training recipes). After every optimizer step t (counted from 1):
//   d_t = min(decay, (1 + t) / (10 + t))        e <- d_t e + (1 - d_t) w
// The ramp (TensorFlow's ExponentialMovingAverage with num_updates) keeps the first hundreds of
// steps from being dominated by the initial weights. Evaluation uses the averaged weights: swap()
// exchanges them with the model's in place (call it again to swap back). The average is state
// for checkpoints, like the optimizer's moments, so a resumed run continues it exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "sf/nn/module.hpp"
#include "sf/nn/safetensors.hpp"

namespace sf::nn {

class ExponentialMovingAverage {
 public:
  // Starts the average at the module's current weights.
  ExponentialMovingAverage(const Module& module, double decay);

  void update();
  // Exchanges the averaged and the live weights of every parameter.
  void swap();
  double decay() const { return decay_; }
  std::int64_t updates() const { return updates_; }

  // The averages named by parameter, and the update count, for checkpoints.
  NamedTensors state() const;
  void load_state(const NamedTensors& tensors, std::int64_t updates);

 private:
  double decay_;
  std::int64_t updates_ = 0;
  std::vector<std::pair<std::string, Variable>> parameters_;
  std::vector<Tensor> averages_;
};

}  // namespace sf::nn
