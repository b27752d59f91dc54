// Arithmetic: add, subtract, multiply, divide, negate and their scalar forms.
//
//   out = a + b      grad_a = g            grad_b = g
//   out = a - b      grad_a = g            grad_b = -g
//   out = a * b      grad_a = g * b        grad_b = g * a
//   out = a / b      grad_a = g / b        grad_b = -g * a / b^2 = -g * out / b
//   out = -x         grad_x = -g
//   out = x + s      grad_x = g            out = x * s      grad_x = g * s
//
// Shapes broadcast (NumPy). Each backward returns gradients of the broadcast output shape;
// the engine sums them down to each input's shape.
#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"

namespace sf {
namespace {

struct AddBackward : Node {
  std::string name() const override { return "AddBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override { return {grad, grad}; }
};

struct SubtractBackward : Node {
  std::string name() const override { return "SubtractBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    return {grad, needs_input_grad(1) ? compute::unary(compute::Unary::Negate, grad) : Tensor()};
  }
};

struct MultiplyBackward : SavingNode<MultiplyBackward> {
  SavedTensor a, b;
  std::string name() const override { return "MultiplyBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    return {needs_input_grad(0) ? compute::multiply(grad, b.get(name())) : Tensor(),
            needs_input_grad(1) ? compute::multiply(grad, a.get(name())) : Tensor()};
  }
  auto saved() { return std::tie(a, b); }
};

struct DivideBackward : SavingNode<DivideBackward> {
  SavedTensor b, output;
  std::string name() const override { return "DivideBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    const Tensor grad_a = compute::divide(grad, b.get(name()));
    Tensor grad_b;
    if (needs_input_grad(1))
      grad_b = compute::unary(compute::Unary::Negate, compute::multiply(grad_a, output.get(name())));
    return {needs_input_grad(0) ? grad_a : Tensor(), grad_b};
  }
  auto saved() { return std::tie(b, output); }
};

struct NegateBackward : Node {
  std::string name() const override { return "NegateBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override { return {compute::unary(compute::Unary::Negate, grad)}; }
};

struct AddScalarBackward : Node {
  std::string name() const override { return "AddScalarBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override { return {grad}; }
};

struct MultiplyScalarBackward : Node {
  double factor = 1.0;
  std::string name() const override { return "MultiplyScalarBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override { return {compute::multiply_scalar(grad, factor)}; }
};

}  // namespace

Variable add(const Variable& a, const Variable& b) {
  Tensor output = compute::add(a.data(), b.data());
  if (!needs_graph({&a, &b})) return Variable(std::move(output));
  return attach_node(std::make_shared<AddBackward>(), std::move(output), {&a, &b});
}

Variable subtract(const Variable& a, const Variable& b) {
  Tensor output = compute::subtract(a.data(), b.data());
  if (!needs_graph({&a, &b})) return Variable(std::move(output));
  return attach_node(std::make_shared<SubtractBackward>(), std::move(output), {&a, &b});
}

Variable multiply(const Variable& a, const Variable& b) {
  Tensor output = compute::multiply(a.data(), b.data());
  if (!needs_graph({&a, &b})) return Variable(std::move(output));
  auto node = std::make_shared<MultiplyBackward>();
  if (b.requires_grad()) node->a = SavedTensor(a.data());
  if (a.requires_grad()) node->b = SavedTensor(b.data());
  return attach_node(std::move(node), std::move(output), {&a, &b});
}

Variable divide(const Variable& a, const Variable& b) {
  Tensor output = compute::divide(a.data(), b.data());
  if (!needs_graph({&a, &b})) return Variable(std::move(output));
  auto node = std::make_shared<DivideBackward>();
  node->b = SavedTensor(b.data());
  if (b.requires_grad()) node->output = SavedTensor(output);
  return attach_node(std::move(node), std::move(output), {&a, &b});
}

Variable negate(const Variable& x) {
  Tensor output = compute::unary(compute::Unary::Negate, x.data());
  if (!needs_graph({&x})) return Variable(std::move(output));
  return attach_node(std::make_shared<NegateBackward>(), std::move(output), {&x});
}

Variable add_scalar(const Variable& x, double value) {
  Tensor output = compute::add_scalar(x.data(), value);
  if (!needs_graph({&x})) return Variable(std::move(output));
  return attach_node(std::make_shared<AddScalarBackward>(), std::move(output), {&x});
}

Variable multiply_scalar(const Variable& x, double value) {
  Tensor output = compute::multiply_scalar(x.data(), value);
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<MultiplyScalarBackward>();
  node->factor = value;
  return attach_node(std::move(node), std::move(output), {&x});
}

}  // namespace sf
