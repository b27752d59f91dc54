// Initializer statistics on large tensors against the formulas of sf/nn/init.hpp (PyTorch's):
// bounds of the uniform ones, mean ≈ 0 and variance within 2% of the formula, the normal ones'
// shape (the share within one σ), and the default initialization of Linear and Embedding.
//
// Tolerances: with n ≥ 240,000 samples the standard error of the sample variance is 0.2% of σ²
// (uniform) to 0.3% (normal), and of the mean 0.2% of σ; the 2% variance bound is ~7 standard
// errors and the mean and shape bounds 5, so they never fail by chance yet catch a wrong fan
// (300 vs 800: a factor 2.7 in variance) or gain.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>

#include "sf/nn/init.hpp"
#include "sf/nn/layers.hpp"
#include "test_util.hpp"

using sf::Generator;
using sf::Tensor;
using sf::test::check_error_message;
namespace init = sf::nn::init;
namespace nn = sf::nn;

namespace {

struct Statistics {
  double mean = 0.0, variance = 0.0, minimum = 0.0, maximum = 0.0;
  double within_one_sigma = 0.0;  // share of |x - mean| <= σ: 0.683 for a normal, 0.577 for a uniform
};

Statistics statistics_of(const std::vector<double>& values) {
  Statistics result;
  for (double value : values) result.mean += value;
  result.mean /= static_cast<double>(values.size());
  for (double value : values) result.variance += (value - result.mean) * (value - result.mean);
  result.variance /= static_cast<double>(values.size());
  result.minimum = *std::min_element(values.begin(), values.end());
  result.maximum = *std::max_element(values.begin(), values.end());
  const double sigma = std::sqrt(result.variance);
  std::size_t inside = 0;
  for (double value : values) inside += std::abs(value - result.mean) <= sigma ? 1 : 0;
  result.within_one_sigma = static_cast<double>(inside) / static_cast<double>(values.size());
  return result;
}

// Uniform on (-bound, bound): variance bound²/3, every value inside, the extremes reached.
void check_uniform(const Tensor& tensor, double bound, double variance_tolerance = 0.02) {
  const Statistics stats = statistics_of(tensor.to_vector());
  const double variance = bound * bound / 3.0;
  const double samples = static_cast<double>(tensor.numel());
  BOOST_TEST_INFO("bound " << bound << ", mean " << stats.mean << ", variance " << stats.variance << " vs "
                           << variance);
  BOOST_TEST(stats.minimum >= -bound);
  BOOST_TEST(stats.maximum <= bound);
  BOOST_TEST(stats.minimum < -0.95 * bound);
  BOOST_TEST(stats.maximum > 0.95 * bound);
  BOOST_TEST(std::abs(stats.mean) < 5.0 * std::sqrt(variance / samples));  // 5 standard errors
  BOOST_TEST(std::abs(stats.variance / variance - 1.0) < variance_tolerance);
  BOOST_TEST(std::abs(stats.within_one_sigma - 0.5774) < 5.0 * std::sqrt(0.5774 * 0.4226 / samples));
}

// N(0, σ²): variance σ², bell-shaped.
void check_normal(const std::vector<double>& values, double sigma) {
  const Statistics stats = statistics_of(values);
  BOOST_TEST_INFO("sigma " << sigma << ", mean " << stats.mean << ", variance " << stats.variance);
  BOOST_TEST(std::abs(stats.mean) < 5.0 * sigma / std::sqrt(static_cast<double>(values.size())));
  BOOST_TEST(std::abs(stats.variance / (sigma * sigma) - 1.0) < 0.02);
  BOOST_TEST(std::abs(stats.within_one_sigma - 0.6827) < 0.01);
  BOOST_TEST(stats.maximum > 3.5 * sigma);  // tails a uniform of the same variance (max 1.73σ) lacks
}

// A [300, 800] weight: fan_in 800, fan_out 300, so confusing the two is caught.
Tensor weight() { return Tensor::empty({300, 800}); }

}  // namespace

BOOST_AUTO_TEST_SUITE(initializers)

BOOST_AUTO_TEST_CASE(fans_and_gains_follow_pytorch) {
  BOOST_TEST((init::fans({4, 3}) == std::pair<std::int64_t, std::int64_t>{3, 4}));
  BOOST_TEST((init::fans({6, 4, 3, 3}) == std::pair<std::int64_t, std::int64_t>{36, 54}));  // receptive field 9
  check_error_message([] { init::fans({5}); },
                      "init: fan in and fan out need a tensor of at least 2 dimensions, got [5]");
  BOOST_TEST(init::gain(init::Nonlinearity::Linear) == 1.0);
  BOOST_TEST(init::gain(init::Nonlinearity::Sigmoid) == 1.0);
  BOOST_TEST(init::gain(init::Nonlinearity::Tanh) == 5.0 / 3.0);
  BOOST_TEST(init::gain(init::Nonlinearity::Relu) == std::sqrt(2.0));
  BOOST_TEST(init::gain(init::Nonlinearity::LeakyRelu, 0.2) == std::sqrt(2.0 / 1.04));
  BOOST_TEST(init::gain(init::Nonlinearity::LeakyRelu, std::sqrt(5.0)) == std::sqrt(1.0 / 3.0));
}

BOOST_AUTO_TEST_CASE(xavier_uniform_statistics) {
  Generator generator(1);
  Tensor tensor = weight();
  init::xavier_uniform_(tensor, generator);
  check_uniform(tensor, std::sqrt(6.0 / 1100.0));
  init::xavier_uniform_(tensor, generator, 2.0);
  check_uniform(tensor, 2.0 * std::sqrt(6.0 / 1100.0));
}

BOOST_AUTO_TEST_CASE(xavier_normal_statistics) {
  Generator generator(2);
  Tensor tensor = weight();
  init::xavier_normal_(tensor, generator);
  check_normal(tensor.to_vector(), std::sqrt(2.0 / 1100.0));
  init::xavier_normal_(tensor, generator, init::gain(init::Nonlinearity::Tanh));
  check_normal(tensor.to_vector(), 5.0 / 3.0 * std::sqrt(2.0 / 1100.0));
}

BOOST_AUTO_TEST_CASE(kaiming_uniform_statistics) {
  Generator generator(3);
  Tensor tensor = weight();
  init::kaiming_uniform_(tensor, generator);  // leaky relu with slope 0: gain √2, fan_in
  check_uniform(tensor, std::sqrt(2.0) * std::sqrt(3.0 / 800.0));
  init::kaiming_uniform_(tensor, generator, 0.0, init::FanMode::FanOut, init::Nonlinearity::Relu);
  check_uniform(tensor, std::sqrt(2.0) * std::sqrt(3.0 / 300.0));
  init::kaiming_uniform_(tensor, generator, 0.0, init::FanMode::FanIn, init::Nonlinearity::Tanh);
  check_uniform(tensor, 5.0 / 3.0 * std::sqrt(3.0 / 800.0));
}

BOOST_AUTO_TEST_CASE(kaiming_normal_statistics) {
  Generator generator(4);
  Tensor tensor = weight();
  init::kaiming_normal_(tensor, generator);
  check_normal(tensor.to_vector(), std::sqrt(2.0) / std::sqrt(800.0));
  init::kaiming_normal_(tensor, generator, 0.2, init::FanMode::FanOut);
  check_normal(tensor.to_vector(), std::sqrt(2.0 / 1.04) / std::sqrt(300.0));
}

BOOST_AUTO_TEST_CASE(linear_default_is_uniform_over_one_over_sqrt_fan_in) {
  Generator generator(5);
  nn::Linear layer({400, 600}, generator);
  const double bound = 1.0 / std::sqrt(400.0);
  check_uniform(layer.weight.data(), bound);
  // 600 bias values: the variance's standard error is 3.7%, so a looser bound (4 errors).
  check_uniform(layer.bias.data(), bound, 0.15);
}

BOOST_AUTO_TEST_CASE(embedding_default_is_standard_normal_with_a_zero_padding_row) {
  Generator generator(6);
  nn::Embedding table({2000, 128, 3}, generator);
  const Tensor& weights = table.weight.data();
  BOOST_TEST(weights.select(0, 3).to_vector() == std::vector<double>(128, 0.0), boost::test_tools::per_element());
  std::vector<double> other_rows;
  for (std::int64_t row = 0; row < 2000; ++row)
    if (row != 3)
      for (double value : weights.select(0, row).to_vector()) other_rows.push_back(value);
  check_normal(other_rows, 1.0);
}

BOOST_AUTO_TEST_CASE(initialization_is_reproducible_from_the_seed) {
  Generator first(7), second(7), third(8);
  const nn::Linear a({16, 8}, first), b({16, 8}, second), c({16, 8}, third);
  BOOST_TEST(a.weight.data().to_vector() == b.weight.data().to_vector(), boost::test_tools::per_element());
  BOOST_TEST(a.bias.data().to_vector() == b.bias.data().to_vector(), boost::test_tools::per_element());
  BOOST_TEST(a.weight.data().to_vector() != c.weight.data().to_vector());
  BOOST_TEST(first.offset == 16u * 8u + 8u);  // one counter value per element drawn
}

BOOST_AUTO_TEST_SUITE_END()
