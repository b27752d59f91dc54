// Reductions over the middle axis of a contiguous [outer, reduce, inner] array, the form every
// reduction over any set of axes is brought to by the tensor layer (compute/reduce.cpp).
//
//   sum_axis:  out[o, i]     = Σ_r x[o, r, i]                      out: [outer, inner]
//   max_axis:  values[o, i]  = max_r x[o, r, i]                    values, indices: [outer, inner]
//              indices[o, i] = the first r attaining it (NaN counts as the maximum)
//
// Determinism: every output element is summed in an order fixed by the shape alone. Rows
// (inner == 1) longer than parallel::grain::reduction are cut into fixed chunks whose partial
// sums are combined left to right (parallel_reduce_fixed); columns (inner > 1) are summed
// sequentially over r, in parallel over independent column blocks. So results are bit-identical
// for any thread count.
#pragma once

#include <cstdint>

namespace sf::kernels {

template <class T>
void sum_axis(const T* x, std::int64_t outer, std::int64_t reduce, std::int64_t inner, T* out);
template <class T>
void sum_axis_reference(const T* x, std::int64_t outer, std::int64_t reduce, std::int64_t inner, T* out);

// reduce >= 1. Either output may be nullptr when not wanted.
template <class T>
void max_axis(const T* x, std::int64_t outer, std::int64_t reduce, std::int64_t inner, T* values,
              std::int64_t* indices);
template <class T>
void max_axis_reference(const T* x, std::int64_t outer, std::int64_t reduce, std::int64_t inner, T* values,
                        std::int64_t* indices);

}  // namespace sf::kernels
