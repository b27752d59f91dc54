// The answers to the exercises of docs/tutorial-new-op.md, written as a user would write them
// (public headers only), each checked the way the tutorial teaches: gradcheck in float64, and a
// deliberately wrong backward that gradcheck must reject (so each check can fail).
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/gradcheck.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute_elementwise.hpp"
#include "test_util.hpp"

using sf::Tensor;
using sf::Variable;

namespace {

// Exercise 1: cube(x) = x³, grad_x = 3x² · g. `factor` is 3 in the answer; the broken variant
// uses 2 (the classic slip of differentiating x³ as x²).
struct CubeBackward : sf::SavingNode<CubeBackward> {
  sf::SavedTensor input;
  auto saved() { return std::tie(input); }
  double factor = 3.0;
  std::string name() const override { return "CubeBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    const Tensor& x = input.get(name());
    return {sf::compute::multiply(grad, sf::compute::multiply_scalar(sf::compute::multiply(x, x), factor))};
  }
};

Variable cube(const Variable& x, double factor = 3.0) {
  Tensor output = sf::compute::multiply(x.data(), sf::compute::multiply(x.data(), x.data()));
  if (!sf::needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<CubeBackward>();
  node->input = sf::SavedTensor(x.data());
  node->factor = factor;
  return sf::attach_node(std::move(node), std::move(output), {&x});
}

// Exercise 2: squared_difference(a, b) = (a − b)², broadcasting like subtract:
//   grad_a = 2(a − b) · g,   grad_b = −2(a − b) · g   (of the broadcast shape; the engine sums
// them down to each input's shape). `sign_b` is −1 in the answer, +1 in the broken variant.
struct SquaredDifferenceBackward : sf::SavingNode<SquaredDifferenceBackward> {
  sf::SavedTensor difference;  // a − b, the only thing both gradients read
  auto saved() { return std::tie(difference); }
  double sign_b = -1.0;
  std::string name() const override { return "SquaredDifferenceBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    const Tensor twice = sf::compute::multiply_scalar(sf::compute::multiply(grad, difference.get(name())), 2.0);
    return {needs_input_grad(0) ? twice : Tensor(),
            needs_input_grad(1) ? sf::compute::multiply_scalar(twice, sign_b) : Tensor()};
  }
};

Variable squared_difference(const Variable& a, const Variable& b, double sign_b = -1.0) {
  Tensor difference = sf::compute::subtract(a.data(), b.data());
  Tensor output = sf::compute::multiply(difference, difference);
  if (!sf::needs_graph({&a, &b})) return Variable(std::move(output));
  auto node = std::make_shared<SquaredDifferenceBackward>();
  node->difference = sf::SavedTensor(std::move(difference));
  node->sign_b = sign_b;
  return sf::attach_node(std::move(node), std::move(output), {&a, &b});
}

Tensor values(const std::vector<double>& data, const sf::Shape& shape) { return Tensor::from_vector(data, shape); }

}  // namespace

BOOST_AUTO_TEST_SUITE(tutorial_new_op)

BOOST_AUTO_TEST_CASE(exercise_1_cube) {
  const std::vector<Tensor> inputs{values({-1.5, -0.2, 0.4, 1.1, 2.0, 0.7}, {2, 3})};
  auto with_factor = [](double factor) {
    return [factor](const std::vector<Variable>& in) { return cube(in[0] * in[0] + in[0], factor); };
  };
  const sf::GradcheckResult answer = sf::gradcheck(with_factor(3.0), inputs);
  BOOST_TEST(answer.passed, answer.summary());
  BOOST_TEST(!sf::gradcheck(with_factor(2.0), inputs).passed);
}

BOOST_AUTO_TEST_CASE(exercise_2_squared_difference_with_broadcasting) {
  // a [2, 3] against b [1, 3]: b's gradient is summed over the broadcast rows by the engine.
  const std::vector<Tensor> inputs{values({0.3, -1.2, 2.0, 0.5, 0.8, -0.4}, {2, 3}), values({1.0, -0.5, 0.2}, {1, 3})};
  auto with_sign = [](double sign_b) {
    return [sign_b](const std::vector<Variable>& in) { return squared_difference(in[0], in[1], sign_b); };
  };
  const sf::GradcheckResult answer = sf::gradcheck(with_sign(-1.0), inputs);
  BOOST_TEST(answer.passed, answer.summary());
  BOOST_TEST(!sf::gradcheck(with_sign(+1.0), inputs).passed);
  // Only b needs a gradient: the node returns an undefined tensor for a, and a's grad stays empty.
  Variable a(inputs[0], false, "a"), b(inputs[1], true, "b");
  sum(squared_difference(a, b)).backward();
  BOOST_TEST(!a.grad().defined());
  BOOST_TEST((b.grad().shape() == sf::Shape{1, 3}));
}

BOOST_AUTO_TEST_CASE(exercise_3_in_place_change_of_a_saved_input_is_caught) {
  Variable x(values({1.0, 2.0, 3.0}, {3}), true, "x");
  Variable y = sum(cube(x));
  Tensor storage = x.data();
  storage.data<double>()[0] = 5.0;  // changes what CubeBackward saved ...
  storage.bump_version();           // ... and says so, as every in-place kernel does
  sf::test::check_error_message([&] { y.backward(); },
                                "CubeBackward: a tensor [3] saved for backward was modified in place");
}

BOOST_AUTO_TEST_SUITE_END()
