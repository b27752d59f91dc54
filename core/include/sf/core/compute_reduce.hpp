// Tensor-level reductions (namespace sf::compute) over kernels/reduction.hpp. Conventions as in
// compute_elementwise.hpp. Every reduction is bit-identical for any thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "sf/core/tensor.hpp"

namespace sf::compute {

// Σ over `axes` (negative axes count from the end; empty = all axes). keepdim keeps the reduced
// axes with size 1. Reducing a size-0 axis gives 0.
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdim = false);
// sum / (number of reduced elements); NaN when that number is 0.
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdim = false);
// Maximum along one axis (NaN-propagating). The axis must not be empty.
Tensor max(const Tensor& x, std::int64_t axis, bool keepdim = false);
// The first index of the maximum along `axis`, for every element of the reduced shape in
// row-major order (x.shape() without `axis`).
std::vector<std::int64_t> argmax(const Tensor& x, std::int64_t axis);
// Sums x over its broadcast dimensions so that the result has `shape` (the reverse of
// expand(shape) -> x.shape()); throws when `shape` does not broadcast to x.shape(). When the
// shapes are equal the result is a contiguous copy.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace sf::compute
