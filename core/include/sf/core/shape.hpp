// Shapes, strides and the broadcasting rule.
//
// Glossary used across the project (docs/glossary.md): B batch, L sequence length, D model
// width, S tokens per cluster, C clusters, H heads, V vocabulary, Y classes, M/N/K GEMM sizes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sf {

using Shape = std::vector<std::int64_t>;

// "[32, 128]"
std::string shape_string(const Shape& shape);
std::int64_t shape_numel(const Shape& shape);
// Row-major strides, in elements.
Shape contiguous_strides(const Shape& shape);
// Maps a possibly negative axis into [0, ndim); throws "op: axis 3 out of range for 2-d tensor [4, 5]".
std::int64_t normalize_axis(std::int64_t axis, const Shape& shape, const char* op);
// NumPy broadcasting of two shapes; throws naming op and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// True when `from` can be broadcast to `to`.
bool is_broadcastable_to(const Shape& from, const Shape& to);

}  // namespace sf
