// Shared helpers of the compute layer: NumPy broadcasting reduced to rows.
//
// A broadcast elementwise op writes a contiguous output of `shape` and reads N inputs, each
// viewed through expand(shape) (stride 0 on broadcast dimensions). plan_broadcast drops the
// size-1 dimensions and merges adjacent dimensions that are contiguous with each other in every
// input, leaving rows of `row_length` elements in which each input has stride 0 (one value for
// the row) or 1 (a contiguous run) — exactly what the strided kernels accept. An input whose
// innermost stride is anything else (a transposed view, say) is first copied contiguous.
// Examples: [B, L, D] + [D] is one row per (b, l) with strides (1, 1); [B, L, D] * scalar is a
// single row of B·L·D elements with strides (1, 0); contiguous inputs of equal shapes are one row.
#pragma once

#include <array>
#include <cstdint>

#include "sf/core/parallel.hpp"
#include "sf/core/tensor.hpp"

namespace sf::compute::detail {

template <std::size_t N>
struct BroadcastPlan {
  std::array<Tensor, N> operands;               // the inputs expanded to the output shape
  Shape outer_shape;                            // merged dimensions above the row
  std::array<Shape, N> outer_strides;           // per input, for outer_shape
  std::array<std::int64_t, N> row_stride{};     // per input: 0 or 1
  std::int64_t row_length = 1;
  std::int64_t rows = 1;
};

namespace internal {

// Merges the dimensions of `shape` (strides of each operand); returns false when an operand's
// innermost stride is not 0 or 1 (its index in `bad_operand`).
template <std::size_t N>
bool coalesce(const Shape& shape, BroadcastPlan<N>& plan, std::size_t& bad_operand) {
  Shape extents;
  std::array<Shape, N> strides;
  for (std::size_t axis = 0; axis < shape.size(); ++axis) {
    if (shape[axis] == 1) continue;
    bool mergeable = !extents.empty();
    for (std::size_t k = 0; k < N && mergeable; ++k)
      mergeable = strides[k].back() == plan.operands[k].strides()[axis] * shape[axis];
    if (mergeable) {
      extents.back() *= shape[axis];
      for (std::size_t k = 0; k < N; ++k) strides[k].back() = plan.operands[k].strides()[axis];
    } else {
      extents.push_back(shape[axis]);
      for (std::size_t k = 0; k < N; ++k) strides[k].push_back(plan.operands[k].strides()[axis]);
    }
  }
  plan.rows = 1;
  plan.row_length = 1;
  plan.outer_shape.clear();
  if (extents.empty()) {
    for (std::size_t k = 0; k < N; ++k) {
      plan.row_stride[k] = 0;
      plan.outer_strides[k].clear();
    }
    return true;
  }
  plan.row_length = extents.back();
  plan.outer_shape.assign(extents.begin(), extents.end() - 1);
  plan.rows = shape_numel(plan.outer_shape);
  for (std::size_t k = 0; k < N; ++k) {
    plan.row_stride[k] = strides[k].back();
    plan.outer_strides[k].assign(strides[k].begin(), strides[k].end() - 1);
    if (plan.row_stride[k] != 0 && plan.row_stride[k] != 1) {
      bad_operand = k;
      return false;
    }
  }
  return true;
}

}  // namespace internal

// Every input must broadcast to `shape` (the caller checks, with its own message).
template <std::size_t N>
BroadcastPlan<N> plan_broadcast(const Shape& shape, const std::array<Tensor, N>& inputs) {
  BroadcastPlan<N> plan;
  for (std::size_t k = 0; k < N; ++k) plan.operands[k] = inputs[k].expand(shape);
  std::size_t bad_operand = 0;
  // Each failure makes one more operand contiguous, so this ends within N + 1 rounds.
  while (!internal::coalesce(shape, plan, bad_operand))
    plan.operands[bad_operand] = inputs[bad_operand].contiguous().expand(shape);
  return plan;
}

// row(output_row, input_rows, row_strides, row_length) for every row of the plan, rows in
// parallel; output is the contiguous output's data. A single row is passed whole (the row
// kernels parallelize internally).
template <class T, std::size_t N, class Row>
void for_each_row(const BroadcastPlan<N>& plan, T* output, Row&& row) {
  std::array<const T*, N> bases;
  for (std::size_t k = 0; k < N; ++k) bases[k] = plan.operands[k].template data<T>();
  if (plan.rows == 1) {
    row(output, bases, plan.row_stride, plan.row_length);
    return;
  }
  const std::int64_t outer_dims = static_cast<std::int64_t>(plan.outer_shape.size());
  parallel::parallel_for(0, plan.rows, parallel::rows_grain(plan.row_length), [&](std::int64_t first, std::int64_t last) {
    // Multi-index of row `first`, then an odometer increment per row.
    std::int64_t index[Tensor::kMaxDims] = {0};
    std::array<std::int64_t, N> offsets{};
    std::int64_t remainder = first;
    for (std::int64_t axis = outer_dims - 1; axis >= 0; --axis) {
      index[axis] = remainder % plan.outer_shape[axis];
      remainder /= plan.outer_shape[axis];
      for (std::size_t k = 0; k < N; ++k) offsets[k] += index[axis] * plan.outer_strides[k][axis];
    }
    for (std::int64_t current = first; current < last; ++current) {
      std::array<const T*, N> inputs;
      for (std::size_t k = 0; k < N; ++k) inputs[k] = bases[k] + offsets[k];
      row(output + current * plan.row_length, inputs, plan.row_stride, plan.row_length);
      for (std::int64_t axis = outer_dims - 1; axis >= 0; --axis) {
        if (++index[axis] < plan.outer_shape[axis]) {
          for (std::size_t k = 0; k < N; ++k) offsets[k] += plan.outer_strides[k][axis];
          break;
        }
        for (std::size_t k = 0; k < N; ++k) offsets[k] -= (plan.outer_shape[axis] - 1) * plan.outer_strides[k][axis];
        index[axis] = 0;
      }
    }
  });
}

// Throws "<op>: <name> is an undefined tensor" for a default-constructed Tensor.
inline void check_defined(const Tensor& tensor, const char* op, const char* name) {
  if (!tensor.defined()) fail("{}: {} is an undefined tensor", op, name);
}

}  // namespace sf::compute::detail
