#include "sf/core/tensor.hpp"

#include <cstring>
#include <optional>
#include <type_traits>
#include <vector>

#include "sf/core/parallel.hpp"

namespace sf {
namespace {

// Strides for viewing a tensor of (shape, strides) as new_shape without copying, or nothing
// when impossible. Old dimensions are grouped into runs that are contiguous among
// themselves; every run must map onto whole new dimensions.
std::optional<Shape> view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape) {
  if (shape_numel(shape) == 0 || shape.empty()) return contiguous_strides(new_shape);
  Shape new_strides(new_shape.size(), 1);
  std::int64_t view_axis = static_cast<std::int64_t>(new_shape.size()) - 1;
  std::int64_t chunk_base_stride = strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t axis = static_cast<std::int64_t>(shape.size()) - 1; axis >= 0; --axis) {
    tensor_numel *= shape[axis];
    const bool chunk_ends =
        axis == 0 || (shape[axis - 1] != 1 && strides[axis - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_axis >= 0 && (view_numel < tensor_numel || new_shape[view_axis] == 1)) {
      new_strides[view_axis] = view_numel * chunk_base_stride;
      view_numel *= new_shape[view_axis];
      --view_axis;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (axis > 0) {
      chunk_base_stride = strides[axis - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_axis != -1) return std::nullopt;
  return new_strides;
}

template <class Destination, class Source>
void strided_copy(Destination* destination, const Shape& shape, const Shape& destination_strides,
                  const Source* source, const Shape& source_strides) {
  const std::int64_t ndim = static_cast<std::int64_t>(shape.size());
  if (ndim == 0) {
    destination[0] = static_cast<Destination>(source[0]);
    return;
  }
  const std::int64_t inner = shape.back();
  const std::int64_t outer = shape_numel(shape) / (inner == 0 ? 1 : inner);
  if (inner == 0) return;
  const std::int64_t inner_destination = destination_strides.back();
  const std::int64_t inner_source = source_strides.back();
  // Rows of a few hundred bytes are the common case (heads of 32 floats): the per-row cost is
  // the bookkeeping, so the row's index advances like an odometer (one division per task, not
  // per row) and a short contiguous row is copied by a loop the compiler vectorizes, not a
  // memcpy call.
  constexpr std::int64_t kLongRowBytes = 1024;
  parallel::parallel_for(0, outer, parallel::rows_grain(inner), [&](std::int64_t first, std::int64_t last) {
    std::vector<std::int64_t> index(static_cast<std::size_t>(ndim - 1));
    std::int64_t remainder = first, destination_offset = 0, source_offset = 0;
    for (std::int64_t axis = ndim - 2; axis >= 0; --axis) {
      index[static_cast<std::size_t>(axis)] = remainder % shape[axis];
      remainder /= shape[axis];
      destination_offset += index[static_cast<std::size_t>(axis)] * destination_strides[axis];
      source_offset += index[static_cast<std::size_t>(axis)] * source_strides[axis];
    }
    for (std::int64_t row = first; row < last; ++row) {
      Destination* out = destination + destination_offset;
      const Source* in = source + source_offset;
      if (inner_destination == 1 && inner_source == 1) {
        if (std::is_same_v<Destination, Source> && inner * static_cast<std::int64_t>(sizeof(Source)) >= kLongRowBytes)
          std::memcpy(out, in, static_cast<std::size_t>(inner) * sizeof(Source));
        else
          for (std::int64_t column = 0; column < inner; ++column) out[column] = static_cast<Destination>(in[column]);
      } else {
        for (std::int64_t column = 0; column < inner; ++column)
          out[column * inner_destination] = static_cast<Destination>(in[column * inner_source]);
      }
      for (std::int64_t axis = ndim - 2; axis >= 0; --axis) {  // the next row's index
        std::int64_t& at = index[static_cast<std::size_t>(axis)];
        destination_offset += destination_strides[axis];
        source_offset += source_strides[axis];
        if (++at < shape[axis]) break;
        destination_offset -= shape[axis] * destination_strides[axis];
        source_offset -= shape[axis] * source_strides[axis];
        at = 0;
      }
    }
  });
}

}  // namespace

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, std::int64_t offset, DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset),
      dtype_(dtype) {}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  if (shape.size() > static_cast<std::size_t>(kMaxDims))
    fail("tensor: {} dimensions requested {}, at most {} are supported", shape.size(), shape_string(shape), kMaxDims);
  for (std::int64_t extent : shape)
    if (extent < 0) fail("tensor: negative dimension in shape {}", shape_string(shape));
  auto storage = std::make_shared<Storage>(static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype));
  return Tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor tensor = empty(shape, dtype);
  std::memset(tensor.raw_data(), 0, static_cast<std::size_t>(tensor.numel()) * dtype_size(dtype));
  return tensor;
}

Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor tensor = empty(shape, dtype);
  tensor.fill_(value);
  return tensor;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  if (static_cast<std::int64_t>(values.size()) != shape_numel(shape))
    fail("from_vector: {} values do not fill shape {}", values.size(), shape_string(shape));
  Tensor tensor = empty(shape, DType::Float32);
  if (!values.empty()) std::memcpy(tensor.raw_data(), values.data(), values.size() * sizeof(float));
  return tensor;
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape) {
  return from_vector(values, shape, DType::Float64);
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  if (static_cast<std::int64_t>(values.size()) != shape_numel(shape))
    fail("from_vector: {} values do not fill shape {}", values.size(), shape_string(shape));
  Tensor tensor = empty(shape, dtype);
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* out = tensor.data<T>();
    for (std::size_t index = 0; index < values.size(); ++index) out[index] = static_cast<T>(values[index]);
  });
  return tensor;
}

Tensor Tensor::arange(std::int64_t count, DType dtype) {
  Tensor tensor = empty({count}, dtype);
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* out = tensor.data<T>();
    for (std::int64_t index = 0; index < count; ++index) out[index] = static_cast<T>(index);
  });
  return tensor;
}

std::int64_t Tensor::size(std::int64_t axis) const { return shape_[normalize_axis(axis, shape_, "size")]; }
std::int64_t Tensor::numel() const { return shape_numel(shape_); }

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;
  std::int64_t expected = 1;
  for (std::size_t axis = shape_.size(); axis-- > 0;) {
    if (shape_[axis] == 1) continue;
    if (strides_[axis] != expected) return false;
    expected *= shape_[axis];
  }
  return true;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return fmt::format("{} {}", dtype_name(dtype_), shape_string(shape_));
}

void* Tensor::raw_data() { return static_cast<char*>(storage_->data()) + offset_ * static_cast<std::int64_t>(element_size()); }
const void* Tensor::raw_data() const {
  return static_cast<const char*>(storage_->data()) + offset_ * static_cast<std::int64_t>(element_size());
}

Shape Tensor::infer_shape(const Shape& requested, const char* op) const {
  Shape shape = requested;
  std::int64_t known = 1, inferred_axis = -1;
  for (std::size_t axis = 0; axis < shape.size(); ++axis) {
    if (shape[axis] == -1) {
      if (inferred_axis >= 0) fail("{}: only one dimension may be -1 in {}", op, shape_string(requested));
      inferred_axis = static_cast<std::int64_t>(axis);
    } else if (shape[axis] < 0) {
      fail("{}: negative dimension in {}", op, shape_string(requested));
    } else {
      known *= shape[axis];
    }
  }
  if (inferred_axis >= 0) {
    if (known == 0 || numel() % known != 0)
      fail("{}: cannot reshape {} into {}", op, shape_string(shape_), shape_string(requested));
    shape[static_cast<std::size_t>(inferred_axis)] = numel() / known;
  }
  if (shape_numel(shape) != numel())
    fail("{}: cannot reshape {} ({} elements) into {} ({} elements)", op, shape_string(shape_), numel(),
         shape_string(requested), shape_numel(shape));
  return shape;
}

Tensor Tensor::view(const Shape& requested) const {
  Shape shape = infer_shape(requested, "view");
  auto strides = view_strides(shape_, strides_, shape);
  if (!strides)
    fail("view: the strides of {} (strides {}) do not allow a view as {}; use reshape()", shape_string(shape_),
         shape_string(strides_), shape_string(shape));
  return Tensor(storage_, shape, *strides, offset_, dtype_);
}

Tensor Tensor::reshape(const Shape& requested) const {
  Shape shape = infer_shape(requested, "reshape");
  if (auto strides = view_strides(shape_, strides_, shape)) return Tensor(storage_, shape, *strides, offset_, dtype_);
  return contiguous().view(shape);
}

Tensor Tensor::permute(const std::vector<std::int64_t>& order) const {
  if (order.size() != shape_.size())
    fail("permute: order has {} entries for {}-d tensor {}", order.size(), shape_.size(), shape_string(shape_));
  Shape shape(order.size()), strides(order.size());
  std::vector<bool> used(order.size(), false);
  for (std::size_t position = 0; position < order.size(); ++position) {
    const std::int64_t axis = normalize_axis(order[position], shape_, "permute");
    if (used[static_cast<std::size_t>(axis)])
      fail("permute: axis {} repeated in order {} for tensor {}", axis, shape_string(order), shape_string(shape_));
    used[static_cast<std::size_t>(axis)] = true;
    shape[position] = shape_[static_cast<std::size_t>(axis)];
    strides[position] = strides_[static_cast<std::size_t>(axis)];
  }
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::transpose(std::int64_t axis_a, std::int64_t axis_b) const {
  std::vector<std::int64_t> order(shape_.size());
  for (std::size_t axis = 0; axis < order.size(); ++axis) order[axis] = static_cast<std::int64_t>(axis);
  std::swap(order[static_cast<std::size_t>(normalize_axis(axis_a, shape_, "transpose"))],
            order[static_cast<std::size_t>(normalize_axis(axis_b, shape_, "transpose"))]);
  return permute(order);
}

Tensor Tensor::slice(std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step) const {
  axis = normalize_axis(axis, shape_, "slice");
  const std::int64_t extent = shape_[static_cast<std::size_t>(axis)];
  if (step < 1) fail("slice: step must be positive, got {} for tensor {}", step, shape_string(shape_));
  if (start < 0) start += extent;
  if (end < 0) end += extent;
  start = std::clamp<std::int64_t>(start, 0, extent);
  end = std::clamp<std::int64_t>(end, start, extent);
  Shape shape = shape_, strides = strides_;
  shape[static_cast<std::size_t>(axis)] = (end - start + step - 1) / step;
  strides[static_cast<std::size_t>(axis)] *= step;
  return Tensor(storage_, shape, strides, offset_ + start * strides_[static_cast<std::size_t>(axis)], dtype_);
}

Tensor Tensor::select(std::int64_t axis, std::int64_t index) const {
  axis = normalize_axis(axis, shape_, "select");
  const std::int64_t extent = shape_[static_cast<std::size_t>(axis)];
  if (index < -extent || index >= extent)
    fail("select: index {} out of range for axis {} of tensor {}", index, axis, shape_string(shape_));
  if (index < 0) index += extent;
  Shape shape = shape_, strides = strides_;
  const std::int64_t offset = offset_ + index * strides_[static_cast<std::size_t>(axis)];
  shape.erase(shape.begin() + axis);
  strides.erase(strides.begin() + axis);
  return Tensor(storage_, shape, strides, offset, dtype_);
}

Tensor Tensor::expand(const Shape& shape) const {
  if (!is_broadcastable_to(shape_, shape))
    fail("expand: tensor {} cannot be expanded to {}", shape_string(shape_), shape_string(shape));
  Shape strides(shape.size(), 0);
  const std::size_t lead = shape.size() - shape_.size();
  for (std::size_t axis = 0; axis < shape_.size(); ++axis)
    strides[axis + lead] = shape_[axis] == shape[axis + lead] ? strides_[axis] : 0;
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::unsqueeze(std::int64_t axis) const {
  const auto ndim = static_cast<std::int64_t>(shape_.size());
  if (axis < 0) axis += ndim + 1;
  if (axis < 0 || axis > ndim) fail("unsqueeze: axis {} out of range for tensor {}", axis, shape_string(shape_));
  Shape shape = shape_, strides = strides_;
  const std::int64_t stride =
      axis < ndim ? strides_[static_cast<std::size_t>(axis)] * shape_[static_cast<std::size_t>(axis)] : 1;
  shape.insert(shape.begin() + axis, 1);
  strides.insert(strides.begin() + axis, stride);
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::squeeze(std::int64_t axis) const {
  axis = normalize_axis(axis, shape_, "squeeze");
  if (shape_[static_cast<std::size_t>(axis)] != 1)
    fail("squeeze: axis {} of tensor {} has size {}, not 1", axis, shape_string(shape_),
         shape_[static_cast<std::size_t>(axis)]);
  Shape shape = shape_, strides = strides_;
  shape.erase(shape.begin() + axis);
  strides.erase(strides.begin() + axis);
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor copy = empty(shape_, dtype_);
  copy.copy_from(*this);
  return copy;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor copy = empty(shape_, dtype);
  copy.copy_from(*this);
  return copy;
}

Tensor& Tensor::fill_(double value) {
  dispatch_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    T* out = data<T>();
    const T typed = static_cast<T>(value);
    if (is_contiguous()) {
      const std::int64_t count = numel();
      parallel::parallel_for(0, count, parallel::grain::elementwise, [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t index = first; index < last; ++index) out[index] = typed;
      });
    } else {
      for_each_strided2(shape_, strides_, 0, strides_, 0, [&](std::int64_t position, std::int64_t) { out[position] = typed; });
    }
  });
  bump_version();
  return *this;
}

Tensor& Tensor::copy_from(const Tensor& source) {
  if (!is_broadcastable_to(source.shape(), shape_))
    fail("copy_from: source {} cannot be broadcast to destination {}", shape_string(source.shape()),
         shape_string(shape_));
  const Tensor expanded = source.expand(shape_);
  dispatch_dtype(dtype_, [&](auto destination_tag) {
    using Destination = decltype(destination_tag);
    dispatch_dtype(source.dtype(), [&](auto source_tag) {
      using Source = decltype(source_tag);
      strided_copy(data<Destination>(), shape_, strides_, expanded.data<Source>(), expanded.strides());
    });
  });
  bump_version();
  return *this;
}

std::int64_t Tensor::linear_offset(std::initializer_list<std::int64_t> index) const {
  if (index.size() != shape_.size())
    fail("at: {} indices for {}-d tensor {}", index.size(), shape_.size(), shape_string(shape_));
  std::int64_t offset = 0;
  std::size_t axis = 0;
  for (std::int64_t value : index) {
    if (value < 0 || value >= shape_[axis])
      fail("at: index {} out of range for axis {} of tensor {}", value, axis, shape_string(shape_));
    offset += value * strides_[axis];
    ++axis;
  }
  return offset;
}

double Tensor::item() const {
  if (numel() != 1) fail("item: tensor {} has {} elements, not 1", shape_string(shape_), numel());
  return dispatch_dtype(dtype_, [&](auto tag) -> double {
    using T = decltype(tag);
    return static_cast<double>(*data<T>());
  });
}

double Tensor::at(std::initializer_list<std::int64_t> index) const {
  const std::int64_t offset = linear_offset(index);
  return dispatch_dtype(dtype_, [&](auto tag) -> double {
    using T = decltype(tag);
    return static_cast<double>(data<T>()[offset]);
  });
}

void Tensor::set(std::initializer_list<std::int64_t> index, double value) {
  const std::int64_t offset = linear_offset(index);
  dispatch_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    data<T>()[offset] = static_cast<T>(value);
  });
  bump_version();
}

template <class T>
std::vector<T> Tensor::values() const {
  const Tensor dense = to(dtype_of<T>()).contiguous();
  const T* begin = dense.data<T>();
  return std::vector<T>(begin, begin + dense.numel());
}
template std::vector<float> Tensor::values<float>() const;
template std::vector<double> Tensor::values<double>() const;

std::vector<double> Tensor::to_vector() const { return values<double>(); }

std::string Tensor::to_string(std::int64_t max_elements) const {
  if (!defined()) return "tensor(undefined)";
  const std::vector<double> all = to_vector();
  std::string text = fmt::format("tensor({} {}, [", dtype_name(dtype_), shape_string(shape_));
  const std::size_t shown = std::min<std::size_t>(all.size(), static_cast<std::size_t>(max_elements));
  for (std::size_t index = 0; index < shown; ++index) text += fmt::format("{}{:.6g}", index ? ", " : "", all[index]);
  if (shown < all.size()) text += ", ...";
  return text + "])";
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dtype() != b.dtype()) fail("{}: dtype mismatch: {} vs {}", op, a.describe(), b.describe());
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  if (a.shape() != b.shape()) fail("{}: shape mismatch: {} vs {}", op, shape_string(a.shape()), shape_string(b.shape()));
}

}  // namespace sf
