// SIMD helpers shared by the kernels (xsimd 8.1; Batch<T> is the widest vector the -march
// flag allows: 16 floats / 8 doubles on AVX-512, 8 / 4 on AVX2).
//
// The tail rule. A kernel that handles the last `count % lanes` elements with scalar code
// computes an element differently depending on whether it falls in a full vector or in the
// tail, and where the tail falls depends on where a parallel chunk ends, i.e. on the thread
// count. So every helper here processes a partial vector with the SAME vector code: the valid
// lanes are copied into a zero-padded buffer, the functor runs on a full Batch, and only the
// valid lanes are stored. Each element's result is then a pure function of its inputs, which
// is how elementwise kernels stay bit-identical for any thread count.
#pragma once

// GCC 12's AVX-512 intrinsic headers use _mm512_undefined_*() as pass-through operands, which
// -Wmaybe-uninitialized reports wherever the intrinsics get inlined (GCC bug 105593, fixed in
// GCC 13). The warning is positioned in the intrinsic headers, so silencing it around their first
// inclusion (kernel sources include this header before anything that pulls in <immintrin.h>)
// keeps -Wall -Wextra meaningful everywhere else.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <xsimd/xsimd.hpp>
#pragma GCC diagnostic pop
#else
#include <xsimd/xsimd.hpp>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "sf/core/parallel.hpp"

namespace sf::kernels::simd {

template <class T>
using Batch = xsimd::batch<T>;
template <class T>
inline constexpr std::int64_t lanes = static_cast<std::int64_t>(Batch<T>::size);

// Loads `valid` (1..lanes) elements from `source`; the remaining lanes are 0.
template <class T>
inline Batch<T> load(const T* source, std::int64_t valid) {
  if (valid == lanes<T>) return Batch<T>::load_unaligned(source);
  alignas(64) T buffer[lanes<T>] = {};
  std::memcpy(buffer, source, static_cast<std::size_t>(valid) * sizeof(T));
  return Batch<T>::load_aligned(buffer);
}

// Stores the first `valid` (1..lanes) lanes of `value` to `destination`.
template <class T>
inline void store(const Batch<T>& value, T* destination, std::int64_t valid) {
  if (valid == lanes<T>) {
    value.store_unaligned(destination);
    return;
  }
  alignas(64) T buffer[lanes<T>];
  value.store_aligned(buffer);
  std::memcpy(destination, buffer, static_cast<std::size_t>(valid) * sizeof(T));
}

// `value` with the lanes from `valid` on set to 0, for sums whose terms are not 0 on padding
// (e.g. exp(x - max) or (x - mean)²).
template <class T>
inline Batch<T> zero_padding(const Batch<T>& value, std::int64_t valid) {
  if (valid == lanes<T>) return value;
  alignas(64) T buffer[lanes<T>];
  value.store_aligned(buffer);
  std::fill(buffer + valid, buffer + lanes<T>, T(0));
  return Batch<T>::load_aligned(buffer);
}

// body(index, valid) for index = begin, begin + lanes, ... < end; `valid` is lanes except for a
// final partial vector. The full-vector loop passes the constant, so after inlining load()/store()
// drop their branch there.
template <class T, class Body>
inline void for_each_batch(std::int64_t begin, std::int64_t end, Body&& body) {
  std::int64_t index = begin;
  for (; index + lanes<T> <= end; index += lanes<T>) body(index, lanes<T>);
  if (index < end) body(index, end - index);
}

// Operands of map(): an array read at consecutive indices, or one value seen by every index.
template <class T>
struct Contiguous {
  const T* data;
  Batch<T> load_at(std::int64_t index, std::int64_t valid) const { return simd::load(data + index, valid); }
};
template <class T>
struct Broadcast {
  Batch<T> value;
  explicit Broadcast(T scalar) : value(scalar) {}
  Batch<T> load_at(std::int64_t, std::int64_t) const { return value; }
};

// output[i] = functor(operands at i...) for i in [begin, end), serially.
template <class T, class Functor, class... Operands>
inline void map_range(T* output, std::int64_t begin, std::int64_t end, const Functor& functor,
                      const Operands&... operands) {
  for_each_batch<T>(begin, end, [&](std::int64_t index, std::int64_t valid) {
    store<T>(functor(operands.load_at(index, valid)...), output + index, valid);
  });
}

// output[i] = functor(operands at i...) for i in [0, count), in parallel. `output` may alias an
// operand's array (same index), never a shifted one.
template <class T, class Functor, class... Operands>
inline void map(T* output, std::int64_t count, const Functor& functor, const Operands&... operands) {
  parallel::parallel_for(0, count, parallel::grain::elementwise, [&](std::int64_t begin, std::int64_t end) {
    map_range(output, begin, end, functor, operands...);
  });
}

// Operand kind from a runtime stride (0 = broadcast one value, 1 = contiguous array): calls
// body(operand) with Contiguous<T> or Broadcast<T>, so one template body covers every mix.
template <class T, class Body>
inline void with_operand(const T* data, std::int64_t stride, Body&& body) {
  if (stride == 0)
    body(Broadcast<T>(data[0]));
  else
    body(Contiguous<T>{data});
}

// Horizontal reductions of one vector (xsimd 8.1 has hadd but no hmax).
template <class T>
inline T horizontal_sum(const Batch<T>& value) {
  return xsimd::hadd(value);
}
template <class T>
inline T horizontal_max(const Batch<T>& value) {
  alignas(64) T buffer[lanes<T>];
  value.store_aligned(buffer);
  T result = buffer[0];
  for (std::int64_t lane = 1; lane < lanes<T>; ++lane) result = std::max(result, buffer[lane]);
  return result;
}

// Σ functor(index, valid) over [0, count) as a Batch, with four independent accumulators so the
// adds pipeline; the order is fixed by `count` alone. Padded lanes must contribute 0 (load() pads
// with zeros, so functors of loaded values that map 0 to 0 are safe).
template <class T, class Term>
inline Batch<T> accumulate(std::int64_t count, Term&& term) {
  Batch<T> sum0(T(0)), sum1(T(0)), sum2(T(0)), sum3(T(0));
  std::int64_t index = 0;
  for (; index + 4 * lanes<T> <= count; index += 4 * lanes<T>) {
    sum0 += term(index, lanes<T>);
    sum1 += term(index + lanes<T>, lanes<T>);
    sum2 += term(index + 2 * lanes<T>, lanes<T>);
    sum3 += term(index + 3 * lanes<T>, lanes<T>);
  }
  for_each_batch<T>(index, count, [&](std::int64_t position, std::int64_t valid) { sum0 += term(position, valid); });
  return (sum0 + sum1) + (sum2 + sum3);
}

// Σ source[0..count) with the fixed order of accumulate().
template <class T>
inline T sum(const T* source, std::int64_t count) {
  return horizontal_sum(accumulate<T>(count, [&](std::int64_t index, std::int64_t valid) {
    return load(source + index, valid);
  }));
}

// max of source[0..count), count >= 1; NaN-propagating (a NaN anywhere gives NaN).
template <class T>
inline T max(const T* source, std::int64_t count) {
  Batch<T> best(source[0]);
  xsimd::batch_bool<T> saw_nan(false);
  for_each_batch<T>(0, count, [&](std::int64_t index, std::int64_t valid) {
    // Padding lanes repeat source[0] so they never win.
    Batch<T> value = best;
    if (valid == lanes<T>) {
      value = Batch<T>::load_unaligned(source + index);
    } else {
      alignas(64) T buffer[lanes<T>];
      std::fill(buffer, buffer + lanes<T>, source[0]);
      std::memcpy(buffer, source + index, static_cast<std::size_t>(valid) * sizeof(T));
      value = Batch<T>::load_aligned(buffer);
    }
    saw_nan = saw_nan | xsimd::isnan(value);
    best = xsimd::max(best, value);
  });
  if (xsimd::any(saw_nan)) return std::numeric_limits<T>::quiet_NaN();
  return horizontal_max(best);
}

}  // namespace sf::kernels::simd
