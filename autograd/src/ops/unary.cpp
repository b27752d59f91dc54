// Pointwise functions y = f(x) and their derivatives, grad_x = f'(x) · g:
//
//   exp      f' = exp(x) = y                 log      f' = 1 / x
//   sqrt     f' = 1 / (2 sqrt(x)) = 1/(2y)   abs      f' = sign(x)
//   sigmoid  f' = y (1 - y)                  tanh     f' = 1 - y^2
//   relu     f' = [x > 0]
//   gelu     f(x) = x Φ(x) (erf form)  f' = Φ(x) + x φ(x)
//            f(x) = x/2 (1 + tanh(u)), u = √(2/π)(x + 0.044715 x³)  (tanh form)
//            f' = (1 + tanh u)/2 + x/2 (1 - tanh² u) √(2/π)(1 + 3·0.044715 x²)
//   pow      y = x^p          f' = p x^(p-1)
//   clamp    y = min(max(x, low), high)   f' = [low <= x <= high]
//
// The derivative kernels live in core (compute::unary_backward); this file records which of
// x and y each one needs, and saves only that.
#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"

namespace sf {
namespace {

using compute::Unary;

// Which tensors compute::unary_backward reads for each op.
struct UnaryNeeds {
  bool input;
  bool output;
};
constexpr UnaryNeeds needs_of(Unary op) {
  switch (op) {
    case Unary::Exp: case Unary::Sqrt: case Unary::Sigmoid: case Unary::Tanh: case Unary::Reciprocal:
      return {false, true};
    case Unary::Negate:
      return {false, false};
    default:
      return {true, false};
  }
}

const char* unary_node_name(Unary op) {
  switch (op) {
    case Unary::Negate: return "NegateBackward";
    case Unary::Exp: return "ExpBackward";
    case Unary::Log: return "LogBackward";
    case Unary::Sqrt: return "SqrtBackward";
    case Unary::Tanh: return "TanhBackward";
    case Unary::Sigmoid: return "SigmoidBackward";
    case Unary::Relu: return "ReluBackward";
    case Unary::GeluErf: return "GeluBackward";
    case Unary::GeluTanh: return "GeluTanhBackward";
    case Unary::Abs: return "AbsBackward";
    case Unary::Square: return "SquareBackward";
    case Unary::Reciprocal: return "ReciprocalBackward";
  }
  return "UnaryBackward";
}

struct UnaryBackward : SavingNode<UnaryBackward> {
  Unary op = Unary::Exp;
  SavedTensor input, output;
  std::string name() const override { return unary_node_name(op); }
  std::vector<Tensor> backward(const Tensor& grad) override {
    const Tensor x = input.defined() ? input.get(name()) : Tensor();
    const Tensor y = output.defined() ? output.get(name()) : Tensor();
    return {compute::unary_backward(op, x, y, grad)};
  }
  auto saved() { return std::tie(input, output); }
};

Variable apply_unary(Unary op, const Variable& x) {
  Tensor output = compute::unary(op, x.data());
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<UnaryBackward>();
  node->op = op;
  const UnaryNeeds needs = needs_of(op);
  if (needs.input) node->input = SavedTensor(x.data());
  if (needs.output) node->output = SavedTensor(output);
  return attach_node(std::move(node), std::move(output), {&x});
}

struct PowBackward : SavingNode<PowBackward> {
  double exponent = 1.0;
  SavedTensor input;
  std::string name() const override { return "PowBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    const Tensor derivative =
        compute::multiply_scalar(compute::power_scalar(input.get(name()), exponent - 1.0), exponent);
    return {compute::multiply(grad, derivative)};
  }
  auto saved() { return std::tie(input); }
};

struct ClampBackward : SavingNode<ClampBackward> {
  double low = 0.0, high = 0.0;
  SavedTensor input;
  std::string name() const override { return "ClampBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    const Tensor& x = input.get(name());
    // [low <= x <= high] = [x >= low] * [x <= high]
    const Tensor inside = compute::multiply(
        compute::binary(compute::Binary::GreaterEqual, x, Tensor::scalar(low, x.dtype())),
        compute::binary(compute::Binary::LessEqual, x, Tensor::scalar(high, x.dtype())));
    return {compute::multiply(grad, inside)};
  }
  auto saved() { return std::tie(input); }
};

}  // namespace

Variable exp(const Variable& x) { return apply_unary(Unary::Exp, x); }
Variable log(const Variable& x) { return apply_unary(Unary::Log, x); }
Variable sqrt(const Variable& x) { return apply_unary(Unary::Sqrt, x); }
Variable abs(const Variable& x) { return apply_unary(Unary::Abs, x); }
Variable sigmoid(const Variable& x) { return apply_unary(Unary::Sigmoid, x); }
Variable tanh(const Variable& x) { return apply_unary(Unary::Tanh, x); }
Variable relu(const Variable& x) { return apply_unary(Unary::Relu, x); }
Variable gelu(const Variable& x, GeluApproximation approximation) {
  return apply_unary(approximation == GeluApproximation::Erf ? Unary::GeluErf : Unary::GeluTanh, x);
}

Variable pow(const Variable& x, double exponent) {
  Tensor output = compute::power_scalar(x.data(), exponent);
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<PowBackward>();
  node->exponent = exponent;
  node->input = SavedTensor(x.data());
  return attach_node(std::move(node), std::move(output), {&x});
}

Variable clamp(const Variable& x, double low, double high) {
  if (low > high) fail("clamp: low {} is greater than high {} for input {}", low, high, x.data().describe());
  Tensor output = compute::clamp(x.data(), low, high);
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<ClampBackward>();
  node->low = low;
  node->high = high;
  node->input = SavedTensor(x.data());
  return attach_node(std::move(node), std::move(output), {&x});
}

}  // namespace sf
