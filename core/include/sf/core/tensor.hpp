// Tensor: a strided view into shared, 64-byte-aligned Storage.
//
//   element (i0, i1, ...) lives at data + offset + i0*stride0 + i1*stride1 + ...   (in elements)
//
// Rules (read these before writing a kernel):
// - Copying a Tensor is SHALLOW: both copies view the same storage. Use clone() for a deep copy.
// - Views share storage and never copy: reshape/view (when the strides allow it), permute,
//   transpose, slice, select, expand, unsqueeze, squeeze. expand() gives stride 0 to the
//   broadcast dimensions, so an expanded tensor must not be written to.
// - Kernels in core/kernels take raw pointers and assume contiguous row-major data unless
//   their comment says otherwise; call contiguous() first (free when already contiguous).
// - In-place writes (fill_, copy_from, the *_ kernels) bump the storage's version counter.
// - Up to kMaxDims dimensions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "sf/core/dtype.hpp"
#include "sf/core/error.hpp"
#include "sf/core/shape.hpp"
#include "sf/core/storage.hpp"

namespace sf {

class Tensor {
 public:
  static constexpr int kMaxDims = 8;

  Tensor() = default;  // undefined tensor; defined() is false

  // ---- factories -------------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32);  // uninitialized
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
  static Tensor ones(const Shape& shape, DType dtype = DType::Float32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
  static Tensor scalar(double value, DType dtype = DType::Float32);  // 0-d tensor
  // Copies `values` (size must equal the shape's element count).
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype);
  // 0, 1, ..., count-1
  static Tensor arange(std::int64_t count, DType dtype = DType::Float32);

  // ---- properties ------------------------------------------------------------------
  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  std::int64_t offset() const { return offset_; }
  std::int64_t dim() const { return static_cast<std::int64_t>(shape_.size()); }
  std::int64_t size(std::int64_t axis) const;  // negative axes count from the end
  std::int64_t numel() const;
  std::size_t element_size() const { return dtype_size(dtype_); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  std::string describe() const;  // "float32 [2, 3]"

  // Pointer to element (0, ..., 0). Throws when T does not match dtype().
  template <class T>
  T* data() {
    check_type<T>();
    return static_cast<T*>(storage_->data()) + offset_;
  }
  template <class T>
  const T* data() const {
    check_type<T>();
    return static_cast<const T*>(storage_->data()) + offset_;
  }
  void* raw_data();
  const void* raw_data() const;

  // ---- views (share storage) ------------------------------------------------------------
  // view: like reshape but throws when the strides do not allow a view. One dim may be -1.
  Tensor view(const Shape& shape) const;
  // reshape: a view when possible, else a contiguous copy. One dim may be -1.
  Tensor reshape(const Shape& shape) const;
  Tensor permute(const std::vector<std::int64_t>& order) const;
  Tensor transpose(std::int64_t axis_a, std::int64_t axis_b) const;
  // Elements start, start+step, ... < end along axis (negative start/end count from the end).
  Tensor slice(std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  Tensor select(std::int64_t axis, std::int64_t index) const;  // drops the axis
  Tensor expand(const Shape& shape) const;                     // NumPy broadcasting, stride 0
  Tensor unsqueeze(std::int64_t axis) const;
  Tensor squeeze(std::int64_t axis) const;
  Tensor flatten() const { return reshape({numel()}); }

  // ---- copies ----------------------------------------------------------------------
  Tensor contiguous() const;  // returns *this when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;

  // ---- in-place (bump the version counter) ------------------------------------------
  Tensor& fill_(double value);
  // Copies `source` into this tensor; source is broadcast to this shape, dtypes may differ.
  Tensor& copy_from(const Tensor& source);
  void bump_version() { storage_->bump_version(); }

  // ---- element access (slow; for tests and small tensors) -------------------------------
  double item() const;  // the only element of a one-element tensor
  double at(std::initializer_list<std::int64_t> index) const;
  void set(std::initializer_list<std::int64_t> index, double value);
  std::vector<double> to_vector() const;  // row-major values as double
  template <class T>
  std::vector<T> values() const;  // row-major values in the native type
  std::string to_string(std::int64_t max_elements = 64) const;

 private:
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, std::int64_t offset, DType dtype);
  template <class T>
  void check_type() const {
    if (dtype_of<T>() != dtype_)
      fail("tensor data: requested {} from a {} tensor {}", dtype_name(dtype_of<T>()), dtype_name(dtype_),
           shape_string(shape_));
  }
  std::int64_t linear_offset(std::initializer_list<std::int64_t> index) const;
  Shape infer_shape(const Shape& requested, const char* op) const;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  std::int64_t offset_ = 0;
  DType dtype_ = DType::Float32;
};

// Throws "op: dtype mismatch: float32 [2, 3] vs float64 [3]" when dtypes differ.
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op);
// Throws "op: shape mismatch: [2, 3] vs [3, 2]" when shapes differ.
void check_same_shape(const Tensor& a, const Tensor& b, const char* op);

// Calls visit(offset_a, offset_b) for every index of `shape` in row-major order, with the
// element offsets of two strided layouts. The workhorse of strided copies and reference kernels.
template <class Visit>
void for_each_strided2(const Shape& shape, const Shape& strides_a, std::int64_t offset_a,
                       const Shape& strides_b, std::int64_t offset_b, Visit&& visit) {
  const std::int64_t ndim = static_cast<std::int64_t>(shape.size());
  std::int64_t total = shape_numel(shape);
  if (total == 0) return;
  std::int64_t index[Tensor::kMaxDims] = {0};
  std::int64_t position_a = offset_a, position_b = offset_b;
  for (std::int64_t count = 0; count < total; ++count) {
    visit(position_a, position_b);
    for (std::int64_t axis = ndim - 1; axis >= 0; --axis) {
      if (++index[axis] < shape[axis]) {
        position_a += strides_a[axis];
        position_b += strides_b[axis];
        break;
      }
      position_a -= strides_a[axis] * (shape[axis] - 1);
      position_b -= strides_b[axis] * (shape[axis] - 1);
      index[axis] = 0;
    }
  }
}

}  // namespace sf
