// Tensor-level reductions. Any set of reduced axes is brought to the [outer, reduce, inner] form of
// kernels/reduction.hpp: when the reduced axes (ignoring size-1 ones) are adjacent, directly;
// otherwise by permuting them to the end and copying (outer = kept elements, inner = 1).
#include <algorithm>

#include "broadcast.hpp"
#include "sf/core/compute_reduce.hpp"
#include "sf/core/kernels/elementwise.hpp"
#include "sf/core/kernels/reduction.hpp"

namespace sf::compute {
namespace {

struct ReductionLayout {
  Tensor input;  // contiguous, laid out as [outer, reduce, inner]
  std::int64_t outer = 1, reduce = 1, inner = 1;
  Shape output_shape;
};

// Normalized, sorted, duplicate-free axes (empty = all).
std::vector<std::int64_t> normalize_axes(const Shape& shape, const std::vector<std::int64_t>& axes, const char* op) {
  std::vector<std::int64_t> result;
  if (axes.empty()) {
    for (std::size_t axis = 0; axis < shape.size(); ++axis) result.push_back(static_cast<std::int64_t>(axis));
    return result;
  }
  for (std::int64_t axis : axes) {
    const std::int64_t normalized = normalize_axis(axis, shape, op);
    if (std::find(result.begin(), result.end(), normalized) != result.end())
      fail("{}: axis {} repeated in axes {} for tensor {}", op, axis, shape_string(axes), shape_string(shape));
    result.push_back(normalized);
  }
  std::sort(result.begin(), result.end());
  return result;
}

ReductionLayout plan_reduction(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdim) {
  const Shape& shape = x.shape();
  const std::size_t ndim = shape.size();
  std::vector<bool> reduced(ndim, false);
  for (std::int64_t axis : axes) reduced[static_cast<std::size_t>(axis)] = true;

  ReductionLayout layout;
  for (std::size_t axis = 0; axis < ndim; ++axis) {
    if (!reduced[axis])
      layout.output_shape.push_back(shape[axis]);
    else if (keepdim)
      layout.output_shape.push_back(1);
  }
  // Axes of extent 1 do not matter for the layout. The others must be kept*, reduced+, kept*.
  std::int64_t first_reduced = -1, last_reduced = -1;
  for (std::size_t axis = 0; axis < ndim; ++axis)
    if (reduced[axis] && shape[axis] != 1) {
      if (first_reduced < 0) first_reduced = static_cast<std::int64_t>(axis);
      last_reduced = static_cast<std::int64_t>(axis);
    }
  bool adjacent = true;
  for (std::int64_t axis = first_reduced; axis >= 0 && axis <= last_reduced; ++axis)
    if (!reduced[static_cast<std::size_t>(axis)] && shape[static_cast<std::size_t>(axis)] != 1) adjacent = false;

  if (adjacent) {
    layout.input = x.contiguous();
    for (std::int64_t axis = 0; axis < static_cast<std::int64_t>(ndim); ++axis) {
      const std::int64_t extent = shape[static_cast<std::size_t>(axis)];
      if (first_reduced < 0 || axis < first_reduced)
        layout.outer *= extent;
      else if (axis <= last_reduced)
        layout.reduce *= extent;
      else
        layout.inner *= extent;
    }
    return layout;
  }
  std::vector<std::int64_t> order;
  for (std::size_t axis = 0; axis < ndim; ++axis)
    if (!reduced[axis]) {
      order.push_back(static_cast<std::int64_t>(axis));
      layout.outer *= shape[axis];
    }
  for (std::size_t axis = 0; axis < ndim; ++axis)
    if (reduced[axis]) {
      order.push_back(static_cast<std::int64_t>(axis));
      layout.reduce *= shape[axis];
    }
  layout.input = x.permute(order).contiguous();
  return layout;
}

// Sum (and, for mean, divide by the reduced count) into a fresh tensor.
Tensor sum_or_mean(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdim, bool is_mean) {
  const char* op = is_mean ? "mean" : "sum";
  detail::check_defined(x, op, "input");
  const ReductionLayout layout = plan_reduction(x, normalize_axes(x.shape(), axes, op), keepdim);
  Tensor output = Tensor::empty(layout.output_shape, x.dtype());
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = output.data<T>();
    kernels::sum_axis(layout.input.data<T>(), layout.outer, layout.reduce, layout.inner, out);
    if (is_mean) {
      const T count = static_cast<T>(layout.reduce);
      kernels::binary(kernels::Binary::Divide, out, 1, &count, 0, out, output.numel());
    }
  });
  return output;
}

// x as [outer, extent of axis, inner], for max and argmax.
ReductionLayout plan_single_axis(const Tensor& x, std::int64_t axis, bool keepdim, const char* op) {
  detail::check_defined(x, op, "input");
  axis = normalize_axis(axis, x.shape(), op);
  if (x.shape()[static_cast<std::size_t>(axis)] == 0)
    fail("{}: cannot reduce over axis {} of size 0 in tensor {}", op, axis, shape_string(x.shape()));
  return plan_reduction(x, {axis}, keepdim);
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdim) {
  return sum_or_mean(x, axes, keepdim, false);
}

Tensor mean(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdim) {
  return sum_or_mean(x, axes, keepdim, true);
}

Tensor max(const Tensor& x, std::int64_t axis, bool keepdim) {
  const ReductionLayout layout = plan_single_axis(x, axis, keepdim, "max");
  Tensor output = Tensor::empty(layout.output_shape, x.dtype());
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::max_axis(layout.input.data<T>(), layout.outer, layout.reduce, layout.inner, output.data<T>(),
                      static_cast<std::int64_t*>(nullptr));
  });
  return output;
}

std::vector<std::int64_t> argmax(const Tensor& x, std::int64_t axis) {
  const ReductionLayout layout = plan_single_axis(x, axis, false, "argmax");
  std::vector<std::int64_t> indices(static_cast<std::size_t>(layout.outer * layout.inner));
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::max_axis(layout.input.data<T>(), layout.outer, layout.reduce, layout.inner, static_cast<T*>(nullptr),
                      indices.data());
  });
  return indices;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  detail::check_defined(x, "sum_to", "input");
  if (!is_broadcastable_to(shape, x.shape()))
    fail("sum_to: shape {} does not broadcast to tensor {}", shape_string(shape), shape_string(x.shape()));
  const std::size_t lead = x.shape().size() - shape.size();
  std::vector<std::int64_t> axes;
  for (std::size_t axis = 0; axis < x.shape().size(); ++axis)
    if (axis < lead || (shape[axis - lead] == 1 && x.shape()[axis] != 1)) axes.push_back(static_cast<std::int64_t>(axis));
  if (axes.empty()) return x.clone().reshape(shape);
  return sum(x, axes, true).reshape(shape);
}

}  // namespace sf::compute
