// Elementwise selection: maximum, minimum, where, masked_fill.
//
//   out = max(a, b)           grad_a = g [a >= b]    grad_b = g [a < b]    (ties go to a)
//   out = min(a, b)           grad_a = g [a <= b]    grad_b = g [a > b]
//   out = where(c, a, b)      grad_a = g [c != 0]    grad_b = g [c == 0]
//   out = masked_fill(x, m, v)  grad_x = g [m == 0]
//
// [·] is 1 where the condition holds, 0 elsewhere. The masks have the broadcast output shape.
#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"

namespace sf {
namespace {

using compute::Binary;

struct SelectBackward : SavingNode<SelectBackward> {
  std::string node_name;
  SavedTensor first_mask;  // where the gradient goes to input 0; input 1 gets the rest
  std::string name() const override { return node_name; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    const Tensor& mask = first_mask.get(name());
    const Tensor zero = Tensor::scalar(0.0, grad.dtype());
    return {needs_input_grad(0) ? compute::where(mask, grad, zero) : Tensor(),
            needs_input_grad(1) ? compute::where(mask, zero, grad) : Tensor()};
  }
  auto saved() { return std::tie(first_mask); }
};

Variable select_pair(const char* node_name, Binary compare, const Variable& a, const Variable& b) {
  Tensor first_mask = compute::binary(compare, a.data(), b.data());
  Tensor output = compute::where(first_mask, a.data(), b.data());
  if (!needs_graph({&a, &b})) return Variable(std::move(output));
  auto node = std::make_shared<SelectBackward>();
  node->node_name = node_name;
  node->first_mask = SavedTensor(std::move(first_mask));
  return attach_node(std::move(node), std::move(output), {&a, &b});
}

struct MaskedFillBackward : SavingNode<MaskedFillBackward> {
  SavedTensor mask;
  std::string name() const override { return "MaskedFillBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    return {compute::masked_fill(grad, mask.get(name()), 0.0)};
  }
  auto saved() { return std::tie(mask); }
};

}  // namespace

Variable maximum(const Variable& a, const Variable& b) {
  check_same_dtype(a.data(), b.data(), "maximum");
  return select_pair("MaximumBackward", Binary::GreaterEqual, a, b);
}

Variable minimum(const Variable& a, const Variable& b) {
  check_same_dtype(a.data(), b.data(), "minimum");
  return select_pair("MinimumBackward", Binary::LessEqual, a, b);
}

Variable where(const Tensor& condition, const Variable& a, const Variable& b) {
  Tensor output = compute::where(condition, a.data(), b.data());
  if (!needs_graph({&a, &b})) return Variable(std::move(output));
  auto node = std::make_shared<SelectBackward>();
  node->node_name = "WhereBackward";
  // Save the condition in the values' dtype so the backward where() sees matching types.
  node->first_mask = SavedTensor(condition.dtype() == a.dtype() ? condition : condition.to(a.dtype()));
  return attach_node(std::move(node), std::move(output), {&a, &b});
}

Variable masked_fill(const Variable& x, const Tensor& mask, double value) {
  Tensor output = compute::masked_fill(x.data(), mask, value);
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<MaskedFillBackward>();
  node->mask = SavedTensor(mask);
  return attach_node(std::move(node), std::move(output), {&x});
}

}  // namespace sf
