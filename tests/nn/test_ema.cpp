// The moving average of the weights: its update rule with the decay ramp, swap for evaluation,
// and its round trip through a checkpoint (a resumed average continues exactly).
#include <boost/test/unit_test.hpp>

#include "sf/nn/checkpoint.hpp"
#include "sf/nn/ema.hpp"
#include "sf/nn/layers.hpp"
#include "safetensors_test_util.hpp"
#include "test_util.hpp"

namespace nn = sf::nn;
using sf::Tensor;

namespace {

// Sets every weight of `linear` to `value` (as an optimizer step would change them).
void set_weights(nn::Linear& linear, double value) {
  for (sf::Variable parameter : linear.parameters()) {
    parameter.data().fill_(value);
  }
}

double first_value(const Tensor& tensor) { return tensor.to_vector().front(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(moving_average)

BOOST_AUTO_TEST_CASE(update_follows_the_ramped_decay) {
  sf::Generator init(1);
  nn::Linear linear(nn::LinearOptions{3, 2}, init);
  linear.to(sf::DType::Float64);
  set_weights(linear, 1.0);
  nn::ExponentialMovingAverage average(linear, 0.9);
  // Step t uses d = min(0.9, (1 + t) / (10 + t)): 2/11, 3/12, ... until 0.9 is reached (t >= 80).
  double expected = 1.0;
  for (int step = 1; step <= 100; ++step) {
    const double weight = static_cast<double>(step) + 1.0;  // the live weights move every step
    set_weights(linear, weight);
    average.update();
    const double decay = std::min(0.9, (1.0 + step) / (10.0 + step));
    expected = decay * expected + (1.0 - decay) * weight;
  }
  BOOST_TEST(average.updates() == 100);
  for (const auto& [name, tensor] : average.state()) BOOST_TEST(first_value(tensor) == expected, boost::test_tools::tolerance(1e-12));
  // The first update of a fresh average uses d = 2/11: it moves 9/11 of the way to the new weights
  // (without the ramp it would move 1/10 of the way).
  nn::ExponentialMovingAverage fresh(linear, 0.9);
  set_weights(linear, 2.0);
  fresh.update();
  BOOST_TEST(first_value(fresh.state().front().second) == 101.0 * 2.0 / 11.0 + 9.0 * 2.0 / 11.0,
             boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(swap_exchanges_and_swaps_back) {
  sf::Generator init(2);
  nn::Linear linear(nn::LinearOptions{4, 3}, init);
  nn::ExponentialMovingAverage average(linear, 0.5);
  set_weights(linear, 3.0);
  average.update();  // d = 2/11: e = (2/11) w0 + (9/11) 3
  const std::vector<double> averaged = average.state().front().second.to_vector();
  average.swap();
  BOOST_TEST(linear.weight.data().to_vector() == averaged, boost::test_tools::per_element());
  average.swap();
  BOOST_TEST(first_value(linear.weight.data()) == 3.0);
}

BOOST_AUTO_TEST_CASE(checkpoint_round_trip_continues_exactly) {
  sf::test::TemporaryDirectory directory;
  const std::string path = directory.file("ema.safetensors");
  sf::Generator init(3);
  nn::Linear linear(nn::LinearOptions{4, 3}, init);
  nn::ExponentialMovingAverage average(linear, 0.99);
  for (int step = 0; step < 7; ++step) {
    set_weights(linear, 0.1 * step);
    average.update();
  }
  nn::save_checkpoint(path, linear, nullptr, nlohmann::json::object(), &average);

  sf::Generator other(9);
  nn::Linear restored(nn::LinearOptions{4, 3}, other);
  nn::ExponentialMovingAverage restored_average(restored, 0.99);
  nn::load_checkpoint(path, restored, nullptr, true, &restored_average);
  BOOST_TEST(restored_average.updates() == 7);
  for (nn::Linear* model : {&linear, &restored}) set_weights(*model, 5.0);
  average.update();
  restored_average.update();
  const auto expected = average.state(), actual = restored_average.state();
  for (std::size_t index = 0; index < expected.size(); ++index)
    BOOST_TEST(actual[index].second.to_vector() == expected[index].second.to_vector(), boost::test_tools::per_element());

  // A file without an average cannot resume a run that keeps one; a plain load ignores nothing.
  const std::string plain = directory.file("plain.safetensors");
  nn::save_checkpoint(plain, linear, nullptr, nlohmann::json::object());
  sf::test::check_error_message([&] { nn::load_checkpoint(plain, restored, nullptr, true, &restored_average); },
                                "holds no moving average");
  nn::load_checkpoint(path, restored, nullptr, true);  // the ema.* tensors are not "unexpected"
}

BOOST_AUTO_TEST_SUITE_END()
