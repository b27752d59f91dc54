// Reductions over axes: sum, mean, max.
//
//   out = Σ_axes x              grad_x = broadcast(g)               (g re-expanded over the axes)
//   out = Σ_axes x / n          grad_x = broadcast(g) / n            n = number of reduced elements
//   out = max_axis x            grad_x[i] = g  at the first maximal i along the axis, 0 elsewhere
//
// With keepdim = false the reduced axes vanish from the output; backward puts them back as
// size-1 axes before broadcasting.
#include <algorithm>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"

namespace sf {
namespace {

// Sorted, normalized axes (all axes when `axes` is empty).
std::vector<std::int64_t> reduced_axes(const Shape& shape, const std::vector<std::int64_t>& axes, const char* op) {
  std::vector<std::int64_t> result;
  if (axes.empty()) {
    for (std::int64_t axis = 0; axis < static_cast<std::int64_t>(shape.size()); ++axis) result.push_back(axis);
    return result;
  }
  for (std::int64_t axis : axes) result.push_back(normalize_axis(axis, shape, op));
  std::sort(result.begin(), result.end());
  if (std::adjacent_find(result.begin(), result.end()) != result.end())
    fail("{}: axis repeated in {} for tensor {}", op, shape_string(Shape(axes.begin(), axes.end())), shape_string(shape));
  return result;
}

// The gradient of the (possibly squeezed) output, viewed with size-1 reduced axes and
// expanded to the input shape.
Tensor expand_gradient(const Tensor& grad, const Shape& input_shape, const std::vector<std::int64_t>& axes,
                       bool keepdim) {
  Tensor kept = grad;
  if (!keepdim)
    for (std::int64_t axis : axes) kept = kept.unsqueeze(axis);  // ascending order keeps positions right
  return kept.expand(input_shape);
}

struct SumBackward : Node {
  std::vector<std::int64_t> axes;
  bool keepdim = false;
  double scale = 1.0;
  std::string node_name;
  std::string name() const override { return node_name; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    Tensor expanded = expand_gradient(grad, inputs[0].shape, axes, keepdim);
    if (scale == 1.0) return {expanded};
    return {compute::multiply_scalar(expanded, scale)};
  }
};

Variable sum_or_mean(const Variable& x, const std::vector<std::int64_t>& axes, bool keepdim, bool is_mean) {
  const char* op = is_mean ? "mean" : "sum";
  std::vector<std::int64_t> normalized = reduced_axes(x.shape(), axes, op);
  Tensor output = is_mean ? compute::mean(x.data(), normalized, keepdim) : compute::sum(x.data(), normalized, keepdim);
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<SumBackward>();
  std::int64_t count = 1;
  for (std::int64_t axis : normalized) count *= x.shape()[static_cast<std::size_t>(axis)];
  node->axes = std::move(normalized);
  node->keepdim = keepdim;
  node->scale = is_mean ? 1.0 / static_cast<double>(count == 0 ? 1 : count) : 1.0;
  node->node_name = is_mean ? "MeanBackward" : "SumBackward";
  return attach_node(std::move(node), std::move(output), {&x});
}

struct MaxBackward : SavingNode<MaxBackward> {
  std::int64_t axis = 0;
  bool keepdim = false;
  std::vector<std::int64_t> argmax;  // per output element, row-major
  std::string name() const override { return "MaxBackward"; }
  std::vector<Tensor> backward(const Tensor& grad_output) override {
    const Shape& shape = inputs[0].shape;
    const std::int64_t extent = shape[static_cast<std::size_t>(axis)];
    std::int64_t inner = 1;
    for (std::size_t index = static_cast<std::size_t>(axis) + 1; index < shape.size(); ++index) inner *= shape[index];
    const std::int64_t outer = extent == 0 || inner == 0 ? 0 : shape_numel(shape) / (extent * inner);
    Tensor grad_input = Tensor::zeros(shape, grad_output.dtype());
    const Tensor grad = grad_output.contiguous();
    dispatch_dtype(grad.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* source = grad.data<T>();
      T* destination = grad_input.data<T>();
      for (std::int64_t row = 0; row < outer; ++row)
        for (std::int64_t column = 0; column < inner; ++column) {
          const std::int64_t out_index = row * inner + column;
          destination[(row * extent + argmax[static_cast<std::size_t>(out_index)]) * inner + column] = source[out_index];
        }
    });
    return {grad_input};
  }
  auto saved() { return std::tie(argmax); }
};

}  // namespace

Variable sum(const Variable& x, const std::vector<std::int64_t>& axes, bool keepdim) {
  return sum_or_mean(x, axes, keepdim, false);
}

Variable mean(const Variable& x, const std::vector<std::int64_t>& axes, bool keepdim) {
  return sum_or_mean(x, axes, keepdim, true);
}

Variable max(const Variable& x, std::int64_t axis, bool keepdim) {
  axis = normalize_axis(axis, x.shape(), "max");
  Tensor output = compute::max(x.data(), axis, keepdim);
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<MaxBackward>();
  node->axis = axis;
  node->keepdim = keepdim;
  node->argmax = compute::argmax(x.data(), axis);
  return attach_node(std::move(node), std::move(output), {&x});
}

}  // namespace sf
