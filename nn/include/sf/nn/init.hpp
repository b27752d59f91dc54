// Parameter initializers, with PyTorch's formulas so a fresh model has the reference's
// initialization statistics.
//
//   fan_in = shape[1] · receptive, fan_out = shape[0] · receptive  (receptive = Π shape[2:])
//   xavier_uniform:  U(-a, a),  a = gain · sqrt(6 / (fan_in + fan_out))
//   xavier_normal:   N(0, σ²),  σ = gain · sqrt(2 / (fan_in + fan_out))
//   kaiming_uniform: U(-b, b),  b = gain · sqrt(3 / fan),  gain = sqrt(2 / (1 + a²)) for leaky relu
//   kaiming_normal:  N(0, σ²),  σ = gain / sqrt(fan)
//   PyTorch's Linear: kaiming_uniform with a = √5 → U(-1/√fan_in, 1/√fan_in); bias U(-1/√fan_in, 1/√fan_in)
//   PyTorch's Embedding: N(0, 1), the padding row zero
#pragma once

#include <utility>

#include "sf/core/random.hpp"
#include "sf/core/tensor.hpp"

namespace sf::nn::init {

enum class Nonlinearity { Linear, Sigmoid, Tanh, Relu, LeakyRelu };
enum class FanMode { FanIn, FanOut };

// The recommended gain of each nonlinearity (torch.nn.init.calculate_gain).
double gain(Nonlinearity nonlinearity, double negative_slope = 0.01);
// (fan_in, fan_out) of a weight of at least 2 dimensions.
std::pair<std::int64_t, std::int64_t> fans(const Shape& shape);

void xavier_uniform_(Tensor& tensor, Generator& generator, double gain_value = 1.0);
void xavier_normal_(Tensor& tensor, Generator& generator, double gain_value = 1.0);
void kaiming_uniform_(Tensor& tensor, Generator& generator, double negative_slope = 0.0,
                      FanMode mode = FanMode::FanIn, Nonlinearity nonlinearity = Nonlinearity::LeakyRelu);
void kaiming_normal_(Tensor& tensor, Generator& generator, double negative_slope = 0.0, FanMode mode = FanMode::FanIn,
                     Nonlinearity nonlinearity = Nonlinearity::LeakyRelu);

}  // namespace sf::nn::init
