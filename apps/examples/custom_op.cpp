// A differentiable op written outside the library, the way the library writes its own
// (docs/autograd.md): the value from core's compute functions, a Node whose backward maps the
// upstream gradient to the input's, attach_node to record it. Then gradcheck, from user code.
//
//   softplus(x) = log(1 + eˣ)        d softplus / dx = σ(x) = 1 / (1 + e⁻ˣ)
//
// It also checks a deliberately wrong backward (σ(x)/2) and expects gradcheck to reject it.
// Exits 0 when the right backward passes and the wrong one fails.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/gradcheck.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute_elementwise.hpp"

namespace {

using sf::compute::Unary;

struct SoftplusBackward : sf::SavingNode<SoftplusBackward> {
  sf::SavedTensor input;
  auto saved() { return std::tie(input); }
  double slope = 1.0;  // 1 for the right derivative; the broken variant uses 0.5
  std::string name() const override { return "SoftplusBackward"; }
  std::vector<sf::Tensor> backward(const sf::Tensor& grad) override {
    const sf::Tensor sigmoid = sf::compute::unary(Unary::Sigmoid, input.get(name()));
    return {sf::compute::multiply(grad, sf::compute::multiply_scalar(sigmoid, slope))};
  }
};

sf::Variable softplus(const sf::Variable& x, double slope = 1.0) {
  sf::Tensor output = sf::compute::unary(
      Unary::Log, sf::compute::add_scalar(sf::compute::unary(Unary::Exp, x.data()), 1.0));
  if (!sf::needs_graph({&x})) return sf::Variable(std::move(output));
  auto node = std::make_shared<SoftplusBackward>();
  node->input = sf::SavedTensor(x.data());
  node->slope = slope;
  return sf::attach_node(std::move(node), std::move(output), {&x});
}

sf::GradcheckResult check(double slope) {
  const sf::Tensor values = sf::Tensor::from_vector(std::vector<double>{-2.0, -0.3, 0.0, 0.7, 3.0, 1.5}, {2, 3});
  // softplus inside a little graph, so its gradient flows through library ops too.
  return sf::gradcheck([slope](const std::vector<sf::Variable>& in) { return softplus(in[0] * in[0], slope); },
                       {values});
}

}  // namespace

int main() {
  const sf::GradcheckResult right = check(1.0), wrong = check(0.5);
  std::cout << "softplus, backward sigma(x):      " << right.summary() << "\n"
            << "softplus, backward sigma(x) / 2:  " << wrong.summary() << "\n";
  if (!right.passed) std::cout << "FAIL: the right backward was rejected\n";
  if (wrong.passed) std::cout << "FAIL: gradcheck accepted a wrong backward\n";
  return right.passed && !wrong.passed ? 0 : 1;
}
