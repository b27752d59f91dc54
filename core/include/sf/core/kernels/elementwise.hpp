// Elementwise kernels: y = f(x), its derivative, out = a ∘ b, where, pow, clamp, a + α·b.
//
// Shapes: every array holds `count` elements. Binary-style kernels take a stride per input that
// is 1 (an array of `count` elements) or 0 (one value broadcast to all `count` positions); the
// tensor layer (compute/) reduces NumPy broadcasting to calls of this form, one per output row.
// Outputs may alias an input of stride 1 (same positions). Kernels run in parallel over
// sf::parallel and are bit-identical for any thread count (see kernels/simd.hpp, the tail rule).
// Each optimized kernel has a naive scalar `*_reference` next to it, for the tests.
#pragma once

#include <cstdint>

namespace sf::kernels {

// y = f(x):
//   Negate -x          Exp e^x            Log ln x             Sqrt √x
//   Tanh tanh x        Sigmoid 1/(1+e^-x) Relu max(x, 0)       Abs |x|
//   Square x²          Reciprocal 1/x
//   GeluErf  x·Φ(x) = x/2 (1 + erf(x/√2))
//   GeluTanh x/2 (1 + tanh u),  u = √(2/π) (x + 0.044715 x³)
enum class Unary { Negate, Exp, Log, Sqrt, Tanh, Sigmoid, Relu, GeluErf, GeluTanh, Abs, Square, Reciprocal };

// out = a ∘ b. Comparisons give 1 or 0 in the input type. Maximum and Minimum propagate NaN.
enum class Binary { Add, Subtract, Multiply, Divide, Maximum, Minimum, Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual };

// What unary_backward reads besides grad_y: the derivative is written in whichever of x and
// y is cheaper.
//   None:   Negate (f' = -1)
//   Output: Exp (y), Sqrt (1/(2y)), Tanh (1-y²), Sigmoid (y(1-y)), Reciprocal (-y²)
//   Input:  Log (1/x), Relu ([x>0]), GeluErf, GeluTanh, Abs (sign x), Square (2x)
enum class UnarySaved { None, Input, Output };

const char* unary_name(Unary op);
const char* binary_name(Binary op);
UnarySaved unary_saved(Unary op);

// y[i] = f(x[i]).
template <class T>
void unary(Unary op, const T* x, T* y, std::int64_t count);
template <class T>
void unary_reference(Unary op, const T* x, T* y, std::int64_t count);

// grad_x[i] = f'(·) grad_y[i], where `saved` is x or y as unary_saved(op) says (ignored for None).
template <class T>
void unary_backward(Unary op, const T* saved, const T* grad_y, T* grad_x, std::int64_t count);
template <class T>
void unary_backward_reference(Unary op, const T* saved, const T* grad_y, T* grad_x, std::int64_t count);

// out[i] = a[i·a_stride] ∘ b[i·b_stride], strides 0 or 1.
template <class T>
void binary(Binary op, const T* a, std::int64_t a_stride, const T* b, std::int64_t b_stride, T* out,
            std::int64_t count);
template <class T>
void binary_reference(Binary op, const T* a, std::int64_t a_stride, const T* b, std::int64_t b_stride, T* out,
                      std::int64_t count);

// out[i] = condition[i·sc] != 0 ? a[i·sa] : b[i·sb], strides 0 or 1.
template <class T>
void where(const T* condition, std::int64_t condition_stride, const T* a, std::int64_t a_stride, const T* b,
           std::int64_t b_stride, T* out, std::int64_t count);
template <class T>
void where_reference(const T* condition, std::int64_t condition_stride, const T* a, std::int64_t a_stride,
                     const T* b, std::int64_t b_stride, T* out, std::int64_t count);

// out[i] = a[i·sa] + alpha·b[i·sb] (one rounding: fma), strides 0 or 1. Gradient accumulation.
template <class T>
void add_scaled(const T* a, std::int64_t a_stride, const T* b, std::int64_t b_stride, T alpha, T* out,
                std::int64_t count);
template <class T>
void add_scaled_reference(const T* a, std::int64_t a_stride, const T* b, std::int64_t b_stride, T alpha, T* out,
                          std::int64_t count);

// y[i] = x[i]^exponent. Exponents 2, 1/2, 1, 0, -1 use exact shortcuts (x·x, √x, ...), others pow().
template <class T>
void power_scalar(const T* x, T exponent, T* y, std::int64_t count);
template <class T>
void power_scalar_reference(const T* x, T exponent, T* y, std::int64_t count);

// y[i] = min(max(x[i], low), high).
template <class T>
void clamp(const T* x, T low, T high, T* y, std::int64_t count);
template <class T>
void clamp_reference(const T* x, T low, T high, T* y, std::int64_t count);

}  // namespace sf::kernels
