// Tensor-level concatenation and index selection (namespace sf::compute) over
// kernels/indexing.hpp. Conventions as in compute_elementwise.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "sf/core/tensor.hpp"

namespace sf::compute {

// Joins tensors along `axis`; all have the same dtype and the same shape except along `axis`.
Tensor concat(const std::vector<Tensor>& tensors, std::int64_t axis);
// out has x's shape with axis `axis` of size indices.size(); out[..., j, ...] = x[..., indices[j], ...].
Tensor index_select(const Tensor& x, std::int64_t axis, const std::vector<std::int64_t>& indices);
// The backward of index_select: zeros of `shape`, then out[..., indices[j], ...] += source[..., j, ...]
// (repeated indices accumulate, in ascending j). source has `shape` with axis `axis` of size
// indices.size().
Tensor index_add(const Shape& shape, std::int64_t axis, const std::vector<std::int64_t>& indices,
                 const Tensor& source);

}  // namespace sf::compute
