#include "sf/nn/init.hpp"

#include <cmath>

namespace sf::nn::init {

double gain(Nonlinearity nonlinearity, double negative_slope) {
  switch (nonlinearity) {
    case Nonlinearity::Linear: case Nonlinearity::Sigmoid: return 1.0;
    case Nonlinearity::Tanh: return 5.0 / 3.0;
    case Nonlinearity::Relu: return std::sqrt(2.0);
    case Nonlinearity::LeakyRelu: return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope));
  }
  return 1.0;
}

std::pair<std::int64_t, std::int64_t> fans(const Shape& shape) {
  if (shape.size() < 2) fail("init: fan in and fan out need a tensor of at least 2 dimensions, got {}", shape_string(shape));
  std::int64_t receptive = 1;
  for (std::size_t axis = 2; axis < shape.size(); ++axis) receptive *= shape[axis];
  return {shape[1] * receptive, shape[0] * receptive};
}

void xavier_uniform_(Tensor& tensor, Generator& generator, double gain_value) {
  const auto [fan_in, fan_out] = fans(tensor.shape());
  const double bound = gain_value * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  uniform_(tensor, generator, -bound, bound);
}

void xavier_normal_(Tensor& tensor, Generator& generator, double gain_value) {
  const auto [fan_in, fan_out] = fans(tensor.shape());
  normal_(tensor, generator, 0.0, gain_value * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

void kaiming_uniform_(Tensor& tensor, Generator& generator, double negative_slope, FanMode mode,
                      Nonlinearity nonlinearity) {
  const auto [fan_in, fan_out] = fans(tensor.shape());
  const double fan = static_cast<double>(mode == FanMode::FanIn ? fan_in : fan_out);
  const double bound = gain(nonlinearity, negative_slope) * std::sqrt(3.0 / fan);
  uniform_(tensor, generator, -bound, bound);
}

void kaiming_normal_(Tensor& tensor, Generator& generator, double negative_slope, FanMode mode,
                     Nonlinearity nonlinearity) {
  const auto [fan_in, fan_out] = fans(tensor.shape());
  const double fan = static_cast<double>(mode == FanMode::FanIn ? fan_in : fan_out);
  normal_(tensor, generator, 0.0, gain(nonlinearity, negative_slope) / std::sqrt(fan));
}

}  // namespace sf::nn::init
