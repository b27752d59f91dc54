// Elementwise kernels over the functors of elementwise_functors.hpp. Every kernel is one
// simd::map() call: the functor runs on full vectors and on the zero-padded tail alike, so each
// element's result is independent of how parallel_for splits the range.
#include "sf/core/kernels/elementwise.hpp"

#include <algorithm>
#include <cmath>

#include "elementwise_functors.hpp"

namespace sf::kernels {

using simd::Batch;

const char* unary_name(Unary op) {
  return functors::visit_unary<float>(op, [](auto functor) { return decltype(functor)::name; });
}

const char* binary_name(Binary op) {
  return functors::visit_binary<float>(op, [](auto functor) { return decltype(functor)::name; });
}

UnarySaved unary_saved(Unary op) {
  return functors::visit_unary<float>(op, [](auto functor) { return decltype(functor)::saved; });
}

template <class T>
void unary(Unary op, const T* x, T* y, std::int64_t count) {
  functors::visit_unary<T>(op, [&](auto functor) {
    using Op = decltype(functor);
    simd::map(y, count, [](const Batch<T>& value) { return Op::forward(value); }, simd::Contiguous<T>{x});
  });
}

template <class T>
void unary_reference(Unary op, const T* x, T* y, std::int64_t count) {
  functors::visit_unary<T>(op, [&](auto functor) {
    using Op = decltype(functor);
    for (std::int64_t index = 0; index < count; ++index) y[index] = Op::forward_reference(x[index]);
  });
}

template <class T>
void unary_backward(Unary op, const T* saved, const T* grad_y, T* grad_x, std::int64_t count) {
  functors::visit_unary<T>(op, [&](auto functor) {
    using Op = decltype(functor);
    const auto derivative = [](const Batch<T>& value, const Batch<T>& grad) { return Op::backward(value, grad); };
    // Ops that need neither x nor y (Negate) may get saved == nullptr: read grad_y in its place.
    const T* first = Op::saved == UnarySaved::None ? grad_y : saved;
    simd::map(grad_x, count, derivative, simd::Contiguous<T>{first}, simd::Contiguous<T>{grad_y});
  });
}

template <class T>
void unary_backward_reference(Unary op, const T* saved, const T* grad_y, T* grad_x, std::int64_t count) {
  functors::visit_unary<T>(op, [&](auto functor) {
    using Op = decltype(functor);
    for (std::int64_t index = 0; index < count; ++index)
      grad_x[index] = Op::backward_reference(Op::saved == UnarySaved::None ? T(0) : saved[index], grad_y[index]);
  });
}

template <class T>
void binary(Binary op, const T* a, std::int64_t a_stride, const T* b, std::int64_t b_stride, T* out,
            std::int64_t count) {
  functors::visit_binary<T>(op, [&](auto functor) {
    using Op = decltype(functor);
    const auto apply = [](const Batch<T>& left, const Batch<T>& right) { return Op::apply(left, right); };
    simd::with_operand(a, a_stride, [&](const auto& left) {
      simd::with_operand(b, b_stride, [&](const auto& right) { simd::map(out, count, apply, left, right); });
    });
  });
}

template <class T>
void binary_reference(Binary op, const T* a, std::int64_t a_stride, const T* b, std::int64_t b_stride, T* out,
                      std::int64_t count) {
  functors::visit_binary<T>(op, [&](auto functor) {
    using Op = decltype(functor);
    for (std::int64_t index = 0; index < count; ++index)
      out[index] = Op::reference(a[index * a_stride], b[index * b_stride]);
  });
}

template <class T>
void where(const T* condition, std::int64_t condition_stride, const T* a, std::int64_t a_stride, const T* b,
           std::int64_t b_stride, T* out, std::int64_t count) {
  const auto choose = [](const Batch<T>& selector, const Batch<T>& first, const Batch<T>& second) {
    return xsimd::select(selector != Batch<T>(T(0)), first, second);
  };
  simd::with_operand(condition, condition_stride, [&](const auto& selector) {
    simd::with_operand(a, a_stride, [&](const auto& first) {
      simd::with_operand(b, b_stride, [&](const auto& second) { simd::map(out, count, choose, selector, first, second); });
    });
  });
}

template <class T>
void where_reference(const T* condition, std::int64_t condition_stride, const T* a, std::int64_t a_stride,
                     const T* b, std::int64_t b_stride, T* out, std::int64_t count) {
  for (std::int64_t index = 0; index < count; ++index)
    out[index] = condition[index * condition_stride] != T(0) ? a[index * a_stride] : b[index * b_stride];
}

template <class T>
void add_scaled(const T* a, std::int64_t a_stride, const T* b, std::int64_t b_stride, T alpha, T* out,
                std::int64_t count) {
  const Batch<T> factor(alpha);
  // fma(b, α, a) rounds once; with α = 1 it is exactly a + b.
  const auto apply = [factor](const Batch<T>& left, const Batch<T>& right) { return xsimd::fma(right, factor, left); };
  simd::with_operand(a, a_stride, [&](const auto& left) {
    simd::with_operand(b, b_stride, [&](const auto& right) { simd::map(out, count, apply, left, right); });
  });
}

template <class T>
void add_scaled_reference(const T* a, std::int64_t a_stride, const T* b, std::int64_t b_stride, T alpha, T* out,
                          std::int64_t count) {
  for (std::int64_t index = 0; index < count; ++index) out[index] = a[index * a_stride] + alpha * b[index * b_stride];
}

template <class T>
void power_scalar(const T* x, T exponent, T* y, std::int64_t count) {
  const simd::Contiguous<T> input{x};
  // Exact shortcuts for the common exponents: pow() is slower and can be off by an ulp.
  if (exponent == T(2)) {
    simd::map(y, count, [](const Batch<T>& value) { return value * value; }, input);
  } else if (exponent == T(1)) {
    simd::map(y, count, [](const Batch<T>& value) { return value; }, input);
  } else if (exponent == T(0)) {
    simd::map(y, count, [](const Batch<T>&) { return Batch<T>(T(1)); }, input);
  } else if (exponent == T(0.5)) {
    simd::map(y, count, [](const Batch<T>& value) { return xsimd::sqrt(value); }, input);
  } else if (exponent == T(-1)) {
    simd::map(y, count, [](const Batch<T>& value) { return Batch<T>(T(1)) / value; }, input);
  } else {
    const Batch<T> power(exponent);
    simd::map(y, count, [power](const Batch<T>& value) { return xsimd::pow(value, power); }, input);
  }
}

template <class T>
void power_scalar_reference(const T* x, T exponent, T* y, std::int64_t count) {
  for (std::int64_t index = 0; index < count; ++index) y[index] = std::pow(x[index], exponent);
}

template <class T>
void clamp(const T* x, T low, T high, T* y, std::int64_t count) {
  const Batch<T> lower(low), upper(high);
  simd::map(
      y, count,
      [lower, upper](const Batch<T>& value) {
        // select() rather than min/max so that NaN passes through (x86 max returns an operand).
        return xsimd::select(value < lower, lower, xsimd::select(value > upper, upper, value));
      },
      simd::Contiguous<T>{x});
}

template <class T>
void clamp_reference(const T* x, T low, T high, T* y, std::int64_t count) {
  for (std::int64_t index = 0; index < count; ++index)
    y[index] = x[index] < low ? low : (x[index] > high ? high : x[index]);
}

#define SF_INSTANTIATE(T)                                                                                    \
  template void unary<T>(Unary, const T*, T*, std::int64_t);                                                 \
  template void unary_reference<T>(Unary, const T*, T*, std::int64_t);                                       \
  template void unary_backward<T>(Unary, const T*, const T*, T*, std::int64_t);                              \
  template void unary_backward_reference<T>(Unary, const T*, const T*, T*, std::int64_t);                    \
  template void binary<T>(Binary, const T*, std::int64_t, const T*, std::int64_t, T*, std::int64_t);         \
  template void binary_reference<T>(Binary, const T*, std::int64_t, const T*, std::int64_t, T*, std::int64_t); \
  template void where<T>(const T*, std::int64_t, const T*, std::int64_t, const T*, std::int64_t, T*,         \
                         std::int64_t);                                                                      \
  template void where_reference<T>(const T*, std::int64_t, const T*, std::int64_t, const T*, std::int64_t,   \
                                   T*, std::int64_t);                                                        \
  template void add_scaled<T>(const T*, std::int64_t, const T*, std::int64_t, T, T*, std::int64_t);          \
  template void add_scaled_reference<T>(const T*, std::int64_t, const T*, std::int64_t, T, T*, std::int64_t); \
  template void power_scalar<T>(const T*, T, T*, std::int64_t);                                              \
  template void power_scalar_reference<T>(const T*, T, T*, std::int64_t);                                    \
  template void clamp<T>(const T*, T, T, T*, std::int64_t);                                                  \
  template void clamp_reference<T>(const T*, T, T, T*, std::int64_t);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace sf::kernels
