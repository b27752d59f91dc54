// Sum and max over the middle axis of [outer, reduce, inner]; see kernels/reduction.hpp for the
// determinism argument.
#include "sf/core/kernels/reduction.hpp"

#include <cmath>

#include "sf/core/kernels/simd.hpp"
#include "sf/core/parallel.hpp"

namespace sf::kernels {
namespace {

using simd::Batch;

// Σ x[0..count): one SIMD pass for short rows, fixed chunks combined left to right for long ones.
// Which of the two is used depends on `count` only.
template <class T>
T sum_row(const T* x, std::int64_t count) {
  if (count <= parallel::grain::reduction) return simd::sum(x, count);
  return parallel::parallel_reduce_fixed<T>(
      0, count, parallel::grain::reduction, T(0),
      [x](std::int64_t begin, std::int64_t end) { return simd::sum(x + begin, end - begin); },
      [](T left, T right) { return left + right; });
}

// Column blocks of the inner > 1 case: up to kColumnBatches vectors kept in registers while
// walking down the reduce axis.
constexpr std::int64_t kColumnBatches = 4;

// out[c] = Σ_r x[r, c] for c in [column_begin, column_end), x of shape [reduce, inner].
template <class T>
void sum_columns(const T* x, std::int64_t reduce, std::int64_t inner, std::int64_t column_begin,
                 std::int64_t column_end, T* out) {
  Batch<T> accumulator[kColumnBatches];
  std::int64_t valid[kColumnBatches];
  std::int64_t batches = 0;
  for (std::int64_t column = column_begin; column < column_end; column += simd::lanes<T>, ++batches) {
    accumulator[batches] = Batch<T>(T(0));
    valid[batches] = std::min(simd::lanes<T>, column_end - column);
  }
  for (std::int64_t r = 0; r < reduce; ++r) {
    const T* row = x + r * inner + column_begin;
    for (std::int64_t batch = 0; batch < batches; ++batch)
      accumulator[batch] += simd::load(row + batch * simd::lanes<T>, valid[batch]);
  }
  for (std::int64_t batch = 0; batch < batches; ++batch)
    simd::store(accumulator[batch], out + column_begin + batch * simd::lanes<T>, valid[batch]);
}

// The first index of the maximum of x[0..count) (NaN, if present, is the maximum).
template <class T>
std::int64_t first_index_of(const T* x, std::int64_t count, T value) {
  const bool is_nan = std::isnan(value);
  for (std::int64_t index = 0; index < count; ++index)
    if (is_nan ? std::isnan(x[index]) : x[index] == value) return index;
  return 0;
}

// v replaces the running maximum when strictly greater, or when it is the first NaN.
template <class T>
bool beats(T candidate, T best) {
  return candidate > best || (std::isnan(candidate) && !std::isnan(best));
}

}  // namespace

template <class T>
void sum_axis(const T* x, std::int64_t outer, std::int64_t reduce, std::int64_t inner, T* out) {
  if (inner == 1) {
    parallel::parallel_for(0, outer, parallel::rows_grain(reduce), [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t o = first; o < last; ++o) out[o] = sum_row(x + o * reduce, reduce);
    });
    return;
  }
  const std::int64_t block_width = kColumnBatches * simd::lanes<T>;
  const std::int64_t blocks = (inner + block_width - 1) / block_width;
  parallel::parallel_for(0, outer * blocks, parallel::rows_grain(reduce * block_width),
                         [&](std::int64_t first, std::int64_t last) {
                           for (std::int64_t task = first; task < last; ++task) {
                             const std::int64_t o = task / blocks, block = task % blocks;
                             const std::int64_t column_begin = block * block_width;
                             sum_columns(x + o * reduce * inner, reduce, inner, column_begin,
                                         std::min(inner, column_begin + block_width), out + o * inner);
                           }
                         });
}

template <class T>
void sum_axis_reference(const T* x, std::int64_t outer, std::int64_t reduce, std::int64_t inner, T* out) {
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < inner; ++i) {
      T total = T(0);
      for (std::int64_t r = 0; r < reduce; ++r) total += x[(o * reduce + r) * inner + i];
      out[o * inner + i] = total;
    }
}

template <class T>
void max_axis(const T* x, std::int64_t outer, std::int64_t reduce, std::int64_t inner, T* values,
              std::int64_t* indices) {
  if (inner == 1) {
    parallel::parallel_for(0, outer, parallel::rows_grain(reduce), [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t o = first; o < last; ++o) {
        const T* row = x + o * reduce;
        const T best = simd::max(row, reduce);
        if (values) values[o] = best;
        if (indices) indices[o] = first_index_of(row, reduce, best);
      }
    });
    return;
  }
  // Columns: a running maximum per column while walking down r (the compiler vectorizes the
  // column loop); blocks of kBlock columns keep the running state on the stack.
  constexpr std::int64_t kBlock = 64;
  const std::int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel::parallel_for(0, outer * blocks, parallel::rows_grain(reduce * kBlock), [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t task = first; task < last; ++task) {
      const std::int64_t o = task / blocks, column_begin = (task % blocks) * kBlock;
      const std::int64_t width = std::min(kBlock, inner - column_begin);
      const T* base = x + o * reduce * inner + column_begin;
      T best[kBlock];
      std::int64_t position[kBlock];
      for (std::int64_t c = 0; c < width; ++c) {
        best[c] = base[c];
        position[c] = 0;
      }
      for (std::int64_t r = 1; r < reduce; ++r) {
        const T* row = base + r * inner;
        for (std::int64_t c = 0; c < width; ++c)
          if (beats(row[c], best[c])) {
            best[c] = row[c];
            position[c] = r;
          }
      }
      for (std::int64_t c = 0; c < width; ++c) {
        if (values) values[o * inner + column_begin + c] = best[c];
        if (indices) indices[o * inner + column_begin + c] = position[c];
      }
    }
  });
}

template <class T>
void max_axis_reference(const T* x, std::int64_t outer, std::int64_t reduce, std::int64_t inner, T* values,
                        std::int64_t* indices) {
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < inner; ++i) {
      T best = x[o * reduce * inner + i];
      std::int64_t best_index = 0;
      for (std::int64_t r = 1; r < reduce; ++r) {
        const T value = x[(o * reduce + r) * inner + i];
        if (value > best || (std::isnan(value) && !std::isnan(best))) {
          best = value;
          best_index = r;
        }
      }
      if (values) values[o * inner + i] = best;
      if (indices) indices[o * inner + i] = best_index;
    }
}

#define SF_INSTANTIATE(T)                                                                              \
  template void sum_axis<T>(const T*, std::int64_t, std::int64_t, std::int64_t, T*);                   \
  template void sum_axis_reference<T>(const T*, std::int64_t, std::int64_t, std::int64_t, T*);         \
  template void max_axis<T>(const T*, std::int64_t, std::int64_t, std::int64_t, T*, std::int64_t*);    \
  template void max_axis_reference<T>(const T*, std::int64_t, std::int64_t, std::int64_t, T*, std::int64_t*);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace sf::kernels
