// Tensor-level concat, index_select and index_add.
#include <string>

#include "broadcast.hpp"
#include "sf/core/compute_indexing.hpp"
#include "sf/core/kernels/indexing.hpp"

namespace sf::compute {
namespace {

// x's shape seen as [outer, extent of axis, inner].
struct AxisLayout {
  std::int64_t outer = 1, extent = 1, inner = 1;
};

AxisLayout axis_layout(const Shape& shape, std::int64_t axis) {
  AxisLayout layout;
  for (std::int64_t position = 0; position < static_cast<std::int64_t>(shape.size()); ++position) {
    const std::int64_t size = shape[static_cast<std::size_t>(position)];
    if (position < axis)
      layout.outer *= size;
    else if (position == axis)
      layout.extent = size;
    else
      layout.inner *= size;
  }
  return layout;
}

// Throws naming the first index outside [0, extent).
void check_indices(const std::vector<std::int64_t>& indices, std::int64_t extent, std::int64_t axis,
                   const Shape& shape, const char* op) {
  for (std::size_t position = 0; position < indices.size(); ++position)
    if (indices[position] < 0 || indices[position] >= extent)
      fail("{}: index {} at position {} is out of range for axis {} of size {} in shape {}", op, indices[position],
           position, axis, extent, shape_string(shape));
}

}  // namespace

Tensor concat(const std::vector<Tensor>& tensors, std::int64_t axis) {
  if (tensors.empty()) fail("concat: no tensors to join");
  for (std::size_t index = 0; index < tensors.size(); ++index)
    if (!tensors[index].defined()) fail("concat: tensor {} is undefined", index);
  const Tensor& first = tensors.front();
  axis = normalize_axis(axis, first.shape(), "concat");
  Shape shape = first.shape();
  shape[static_cast<std::size_t>(axis)] = 0;
  for (std::size_t index = 0; index < tensors.size(); ++index) {
    const Tensor& tensor = tensors[index];
    check_same_dtype(first, tensor, "concat");
    bool compatible = tensor.dim() == first.dim();
    for (std::size_t position = 0; compatible && position < shape.size(); ++position)
      compatible = static_cast<std::int64_t>(position) == axis || tensor.shape()[position] == first.shape()[position];
    if (!compatible)
      fail("concat: tensor {} has shape {} but tensor 0 has {}; they may differ only on axis {}", index,
           shape_string(tensor.shape()), shape_string(first.shape()), axis);
    shape[static_cast<std::size_t>(axis)] += tensor.shape()[static_cast<std::size_t>(axis)];
  }
  Tensor output = Tensor::empty(shape, first.dtype());
  std::int64_t start = 0;
  for (const Tensor& tensor : tensors) {
    const std::int64_t extent = tensor.shape()[static_cast<std::size_t>(axis)];
    if (extent > 0) {
      Tensor destination = output.slice(axis, start, start + extent);
      destination.copy_from(tensor);
    }
    start += extent;
  }
  return output;
}

Tensor index_select(const Tensor& x, std::int64_t axis, const std::vector<std::int64_t>& indices) {
  detail::check_defined(x, "index_select", "input");
  axis = normalize_axis(axis, x.shape(), "index_select");
  const AxisLayout layout = axis_layout(x.shape(), axis);
  check_indices(indices, layout.extent, axis, x.shape(), "index_select");
  Shape shape = x.shape();
  const auto count = static_cast<std::int64_t>(indices.size());
  shape[static_cast<std::size_t>(axis)] = count;
  Tensor output = Tensor::empty(shape, x.dtype());
  if (output.numel() == 0) return output;
  const Tensor input = x.contiguous();
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::gather(input.data<T>(), layout.outer, layout.extent, layout.inner, indices.data(), count,
                    output.data<T>());
  });
  return output;
}

Tensor index_add(const Shape& shape, std::int64_t axis, const std::vector<std::int64_t>& indices,
                 const Tensor& source) {
  detail::check_defined(source, "index_add", "source");
  axis = normalize_axis(axis, shape, "index_add");
  const AxisLayout layout = axis_layout(shape, axis);
  Shape expected = shape;
  const auto count = static_cast<std::int64_t>(indices.size());
  expected[static_cast<std::size_t>(axis)] = count;
  if (source.shape() != expected)
    fail("index_add: source {} does not match {} (shape {} with axis {} of size {})", shape_string(source.shape()),
         shape_string(expected), shape_string(shape), axis, count);
  check_indices(indices, layout.extent, axis, shape, "index_add");
  Tensor output = Tensor::zeros(shape, source.dtype());
  if (source.numel() == 0) return output;
  const Tensor values = source.contiguous();
  dispatch_dtype(source.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::scatter_add(values.data<T>(), layout.outer, count, layout.inner, indices.data(), layout.extent,
                         std::int64_t{-1}, output.data<T>());
  });
  return output;
}

}  // namespace sf::compute
