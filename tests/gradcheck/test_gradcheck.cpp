// Float64 gradient checks of every op (the cases in autograd/src/gradcheck_cases.cpp), one
// test case per op; and proof that gradcheck catches a wrong backward.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/gradcheck_cases.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"

namespace data = boost::unit_test::data;

BOOST_AUTO_TEST_SUITE(gradcheck)

// Tolerances (GradcheckOptions defaults): eps 1e-6, |analytic - numeric| <= 1e-7 + 1e-6 |numeric|.
BOOST_DATA_TEST_CASE(every_op, data::make(sf::gradcheck_op_names()), op) {
  int cases = 0;
  for (const sf::GradcheckCase& entry : sf::gradcheck_cases()) {
    if (entry.op != op) continue;
    ++cases;
    const sf::GradcheckResult result = entry.run();
    BOOST_TEST_INFO(op << " " << entry.shapes << ": " << result.summary());
    BOOST_TEST(result.passed);
    BOOST_TEST(result.checked + result.skipped >= 0);
  }
  BOOST_TEST(cases > 0);
}

namespace {
// exp with a planted bug in its backward: the sign flipped, or a missing term.
struct WrongExpBackward : sf::Node {
  bool flip_sign = true;
  sf::SavedTensor output;
  std::string name() const override { return "WrongExpBackward"; }
  std::vector<sf::Tensor> backward(const sf::Tensor& grad) override {
    sf::Tensor correct = sf::compute::multiply(grad, output.get(name()));
    if (flip_sign) return {sf::compute::multiply_scalar(correct, -1.0)};
    return {grad};  // forgets the factor exp(x)
  }
};

sf::Variable wrong_exp(const sf::Variable& x, bool flip_sign) {
  sf::Tensor y = sf::compute::unary(sf::compute::Unary::Exp, x.data());
  auto node = std::make_shared<WrongExpBackward>();
  node->flip_sign = flip_sign;
  node->output = sf::SavedTensor(y);
  return sf::attach_node(node, y, {&x});
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_planted_wrong_backward_fails) {
  const sf::Tensor x = sf::Tensor::from_vector(std::vector<double>{0.3, -0.7, 1.1, 0.2}, {2, 2});
  for (bool flip_sign : {true, false}) {
    const sf::GradcheckResult result =
        sf::gradcheck([&](const std::vector<sf::Variable>& inputs) { return wrong_exp(inputs[0], flip_sign); }, {x});
    BOOST_TEST_INFO(result.summary());
    BOOST_TEST(!result.passed);
    BOOST_TEST(result.worst.find("input 0 index") != std::string::npos);
  }
  const sf::GradcheckResult correct =
      sf::gradcheck([](const std::vector<sf::Variable>& inputs) { return sf::exp(inputs[0]); }, {x});
  BOOST_TEST(correct.passed);
}

BOOST_AUTO_TEST_CASE(kinks_are_skipped_not_failed) {
  // relu exactly at 0 has no derivative: the element is skipped.
  const sf::Tensor x = sf::Tensor::from_vector(std::vector<double>{0.0, 1.0, -1.0}, {3});
  const sf::GradcheckResult result =
      sf::gradcheck([](const std::vector<sf::Variable>& inputs) { return sf::relu(inputs[0]); }, {x});
  BOOST_TEST(result.passed);
  BOOST_TEST(result.skipped == 1);
}

BOOST_AUTO_TEST_SUITE_END()
