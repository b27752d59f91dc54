#include "sf/core/shape.hpp"

#include "sf/core/error.hpp"

namespace sf {

std::string shape_string(const Shape& shape) {
  std::string text = "[";
  for (std::size_t axis = 0; axis < shape.size(); ++axis) {
    if (axis) text += ", ";
    text += std::to_string(shape[axis]);
  }
  return text + "]";
}

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t count = 1;
  for (std::int64_t extent : shape) count *= extent;
  return count;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t stride = 1;
  for (std::size_t axis = shape.size(); axis-- > 0;) {
    strides[axis] = stride;
    stride *= shape[axis] > 0 ? shape[axis] : 1;
  }
  return strides;
}

std::int64_t normalize_axis(std::int64_t axis, const Shape& shape, const char* op) {
  const auto ndim = static_cast<std::int64_t>(shape.size());
  const std::int64_t normalized = axis < 0 ? axis + ndim : axis;
  if (normalized < 0 || normalized >= ndim)
    fail("{}: axis {} out of range for {}-d tensor {}", op, axis, ndim, shape_string(shape));
  return normalized;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t ndim = a.size() > b.size() ? a.size() : b.size();
  Shape result(ndim);
  for (std::size_t position = 0; position < ndim; ++position) {
    const std::int64_t extent_a = position < ndim - a.size() ? 1 : a[position - (ndim - a.size())];
    const std::int64_t extent_b = position < ndim - b.size() ? 1 : b[position - (ndim - b.size())];
    if (extent_a != extent_b && extent_a != 1 && extent_b != 1)
      fail("{}: shapes cannot be broadcast: {} vs {}", op, shape_string(a), shape_string(b));
    result[position] = extent_a == 1 ? extent_b : extent_a;
  }
  return result;
}

bool is_broadcastable_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const std::size_t lead = to.size() - from.size();
  for (std::size_t axis = 0; axis < from.size(); ++axis)
    if (from[axis] != 1 && from[axis] != to[axis + lead]) return false;
  return true;
}

}  // namespace sf
