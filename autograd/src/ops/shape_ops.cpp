// Shape ops. Forward returns a view wherever the core Tensor can (reshape, permute, expand,
// slice, unsqueeze, squeeze share the input's storage); backward moves the gradient back:
//
//   reshape   grad_x = g.reshape(x.shape)
//   permute   grad_x = g.permute(inverse order)
//   expand    grad_x = Σ over the broadcast axes of g   (done by the engine's sum_to)
//   slice     grad_x = zeros(x.shape) with g written into the sliced positions
//   concat    grad_x_i = the slice of g that x_i occupies
//   stack     = concat of unsqueezed inputs (a composite; no node of its own)
//   index_select  grad_x = zeros with g rows added at `indices` (repeats accumulate)
//   gather    grad_x = zeros with g scattered-added at the gathered positions
#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"

namespace sf {
namespace {

struct ReshapeBackward : Node {
  std::string name() const override { return "ReshapeBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override { return {grad.reshape(inputs[0].shape)}; }
};

struct PermuteBackward : Node {
  std::vector<std::int64_t> inverse;
  std::string name() const override { return "PermuteBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override { return {grad.permute(inverse)}; }
};

struct ExpandBackward : Node {
  std::string name() const override { return "ExpandBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override { return {grad}; }  // the engine sums it down
};

struct SliceBackward : Node {
  std::int64_t axis = 0, start = 0, end = 0, step = 1;
  std::string name() const override { return "SliceBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    Tensor grad_input = Tensor::zeros(inputs[0].shape, grad.dtype());
    Tensor window = grad_input.slice(axis, start, end, step);
    window.copy_from(grad);
    return {grad_input};
  }
};

struct ConcatBackward : Node {
  std::int64_t axis = 0;
  std::string name() const override { return "ConcatBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    std::vector<Tensor> gradients;
    std::int64_t begin = 0;
    for (const InputEdge& edge : inputs) {
      const std::int64_t extent = edge.shape[static_cast<std::size_t>(axis)];
      gradients.push_back(edge.needs_grad ? grad.slice(axis, begin, begin + extent) : Tensor());
      begin += extent;
    }
    return gradients;
  }
};

struct IndexSelectBackward : SavingNode<IndexSelectBackward> {
  std::int64_t axis = 0;
  std::vector<std::int64_t> indices;
  std::string name() const override { return "IndexSelectBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    return {compute::index_add(inputs[0].shape, axis, indices, grad)};
  }
  auto saved() { return std::tie(indices); }
};

// Gather in the [outer, extent, inner] view of x; index has shape [outer, index_extent, inner].
struct GatherGeometry {
  std::int64_t outer = 1, extent = 1, index_extent = 1, inner = 1;
};

GatherGeometry gather_geometry(const Shape& input_shape, std::int64_t axis, const Shape& index_shape) {
  if (index_shape.size() != input_shape.size())
    fail("gather: index shape {} must have as many axes as the input {}", shape_string(index_shape),
         shape_string(input_shape));
  GatherGeometry geometry;
  for (std::size_t dimension = 0; dimension < input_shape.size(); ++dimension) {
    const auto position = static_cast<std::int64_t>(dimension);
    if (position != axis && index_shape[dimension] != input_shape[dimension])
      fail("gather: index shape {} must equal the input shape {} except along axis {}", shape_string(index_shape),
           shape_string(input_shape), axis);
    if (position < axis) geometry.outer *= input_shape[dimension];
    if (position > axis) geometry.inner *= input_shape[dimension];
  }
  geometry.extent = input_shape[static_cast<std::size_t>(axis)];
  geometry.index_extent = index_shape[static_cast<std::size_t>(axis)];
  return geometry;
}

// Calls visit(input_offset, output_offset) for every gathered element, in row-major order.
template <class Visit>
void for_each_gathered(const GatherGeometry& geometry, const std::vector<std::int64_t>& index, Visit&& visit) {
  for (std::int64_t row = 0; row < geometry.outer; ++row)
    for (std::int64_t position = 0; position < geometry.index_extent; ++position)
      for (std::int64_t column = 0; column < geometry.inner; ++column) {
        const std::int64_t output_offset = (row * geometry.index_extent + position) * geometry.inner + column;
        const std::int64_t source = index[static_cast<std::size_t>(output_offset)];
        visit((row * geometry.extent + source) * geometry.inner + column, output_offset);
      }
}

struct GatherBackward : SavingNode<GatherBackward> {
  std::int64_t axis = 0;
  std::vector<std::int64_t> index;
  GatherGeometry geometry;
  std::string name() const override { return "GatherBackward"; }
  std::vector<Tensor> backward(const Tensor& grad_output) override {
    Tensor grad_input = Tensor::zeros(inputs[0].shape, grad_output.dtype());
    const Tensor grad = grad_output.contiguous();
    dispatch_dtype(grad.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* source = grad.data<T>();
      T* destination = grad_input.data<T>();
      for_each_gathered(geometry, index, [&](std::int64_t input_offset, std::int64_t output_offset) {
        destination[input_offset] += source[output_offset];
      });
    });
    return {grad_input};
  }
  auto saved() { return std::tie(index); }
};

}  // namespace

Variable reshape(const Variable& x, const Shape& shape) {
  Tensor output = x.data().reshape(shape);
  if (!needs_graph({&x})) return Variable(std::move(output));
  return attach_node(std::make_shared<ReshapeBackward>(), std::move(output), {&x});
}

Variable permute(const Variable& x, const std::vector<std::int64_t>& order) {
  Tensor output = x.data().permute(order);
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<PermuteBackward>();
  node->inverse.resize(order.size());
  for (std::size_t position = 0; position < order.size(); ++position)
    node->inverse[static_cast<std::size_t>(normalize_axis(order[position], x.shape(), "permute"))] =
        static_cast<std::int64_t>(position);
  return attach_node(std::move(node), std::move(output), {&x});
}

Variable transpose(const Variable& x, std::int64_t axis_a, std::int64_t axis_b) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(x.dim()));
  for (std::size_t axis = 0; axis < order.size(); ++axis) order[axis] = static_cast<std::int64_t>(axis);
  std::swap(order[static_cast<std::size_t>(normalize_axis(axis_a, x.shape(), "transpose"))],
            order[static_cast<std::size_t>(normalize_axis(axis_b, x.shape(), "transpose"))]);
  return permute(x, order);
}

Variable expand(const Variable& x, const Shape& shape) {
  Tensor output = x.data().expand(shape);
  if (!needs_graph({&x})) return Variable(std::move(output));
  return attach_node(std::make_shared<ExpandBackward>(), std::move(output), {&x});
}

Variable slice(const Variable& x, std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step) {
  axis = normalize_axis(axis, x.shape(), "slice");
  Tensor output = x.data().slice(axis, start, end, step);
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<SliceBackward>();
  node->axis = axis;
  node->start = start;
  node->end = end;
  node->step = step;
  return attach_node(std::move(node), std::move(output), {&x});
}

Variable unsqueeze(const Variable& x, std::int64_t axis) {
  Shape shape = x.data().unsqueeze(axis).shape();
  return reshape(x, shape);
}

Variable squeeze(const Variable& x, std::int64_t axis) {
  Shape shape = x.data().squeeze(axis).shape();
  return reshape(x, shape);
}

Variable concat(const std::vector<Variable>& inputs, std::int64_t axis) {
  if (inputs.empty()) fail("concat: no inputs");
  std::vector<Tensor> tensors;
  for (const Variable& input : inputs) tensors.push_back(input.data());
  Tensor output = compute::concat(tensors, axis);
  if (!needs_graph(inputs)) return Variable(std::move(output));
  auto node = std::make_shared<ConcatBackward>();
  node->axis = normalize_axis(axis, inputs[0].shape(), "concat");
  return attach_node(std::move(node), std::move(output), inputs);
}

Variable stack(const std::vector<Variable>& inputs, std::int64_t axis) {
  if (inputs.empty()) fail("stack: no inputs");
  std::vector<Variable> expanded;
  for (const Variable& input : inputs) expanded.push_back(unsqueeze(input, axis));
  return concat(expanded, axis);
}

Variable index_select(const Variable& x, std::int64_t axis, const std::vector<std::int64_t>& indices) {
  axis = normalize_axis(axis, x.shape(), "index_select");
  Tensor output = compute::index_select(x.data(), axis, indices);
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<IndexSelectBackward>();
  node->axis = axis;
  node->indices = indices;
  return attach_node(std::move(node), std::move(output), {&x});
}

Variable gather(const Variable& x, std::int64_t axis, const std::vector<std::int64_t>& index, const Shape& index_shape) {
  axis = normalize_axis(axis, x.shape(), "gather");
  const GatherGeometry geometry = gather_geometry(x.shape(), axis, index_shape);
  if (static_cast<std::int64_t>(index.size()) != shape_numel(index_shape))
    fail("gather: {} indices given for index shape {}", index.size(), shape_string(index_shape));
  for (std::size_t position = 0; position < index.size(); ++position)
    if (index[position] < 0 || index[position] >= geometry.extent)
      fail("gather: index {} at position {} out of range for axis {} of size {} (input {})", index[position], position,
           axis, geometry.extent, shape_string(x.shape()));
  const Tensor input = x.data().contiguous();
  Tensor output = Tensor::empty(index_shape, x.dtype());
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* source = input.data<T>();
    T* destination = output.data<T>();
    for_each_gathered(geometry, index, [&](std::int64_t input_offset, std::int64_t output_offset) {
      destination[output_offset] = source[input_offset];
    });
  });
  if (!needs_graph({&x})) return Variable(std::move(output));
  auto node = std::make_shared<GatherBackward>();
  node->axis = axis;
  node->index = index;
  node->geometry = geometry;
  return attach_node(std::move(node), std::move(output), {&x});
}

}  // namespace sf
