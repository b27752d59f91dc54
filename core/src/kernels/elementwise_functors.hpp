// The functors behind kernels/elementwise.hpp: one struct per op holding its vector form, its
// naive scalar reference and (for unary ops) its derivative, plus visit_unary / visit_binary,
// the only switch statements that map an enum value to its struct. Everything else (names,
// saved-tensor rules, kernels, references) is generated from these structs.
#pragma once

#include <cmath>
#include <numbers>

#include "sf/core/kernels/elementwise.hpp"
#include "sf/core/kernels/simd.hpp"

namespace sf::kernels::functors {

using simd::Batch;

// ---- unary ---------------------------------------------------------------------------------
// forward(x) -> y; backward(saved, grad_y) -> grad_x with saved as in UnarySaved.

template <class T>
struct NegateOp {
  static constexpr const char* name = "negate";
  static constexpr UnarySaved saved = UnarySaved::None;
  static Batch<T> forward(const Batch<T>& x) { return -x; }
  static T forward_reference(T x) { return -x; }
  static Batch<T> backward(const Batch<T>&, const Batch<T>& grad) { return -grad; }
  static T backward_reference(T, T grad) { return -grad; }
};

template <class T>
struct ExpOp {  // (e^x)' = e^x = y
  static constexpr const char* name = "exp";
  static constexpr UnarySaved saved = UnarySaved::Output;
  static Batch<T> forward(const Batch<T>& x) { return xsimd::exp(x); }
  static T forward_reference(T x) { return std::exp(x); }
  static Batch<T> backward(const Batch<T>& y, const Batch<T>& grad) { return y * grad; }
  static T backward_reference(T y, T grad) { return y * grad; }
};

template <class T>
struct LogOp {  // (ln x)' = 1/x
  static constexpr const char* name = "log";
  static constexpr UnarySaved saved = UnarySaved::Input;
  static Batch<T> forward(const Batch<T>& x) { return xsimd::log(x); }
  static T forward_reference(T x) { return std::log(x); }
  static Batch<T> backward(const Batch<T>& x, const Batch<T>& grad) { return grad / x; }
  static T backward_reference(T x, T grad) { return grad / x; }
};

template <class T>
struct SqrtOp {  // (√x)' = 1/(2√x) = 1/(2y)
  static constexpr const char* name = "sqrt";
  static constexpr UnarySaved saved = UnarySaved::Output;
  static Batch<T> forward(const Batch<T>& x) { return xsimd::sqrt(x); }
  static T forward_reference(T x) { return std::sqrt(x); }
  static Batch<T> backward(const Batch<T>& y, const Batch<T>& grad) { return grad / (y + y); }
  static T backward_reference(T y, T grad) { return grad / (T(2) * y); }
};

template <class T>
struct TanhOp {  // tanh' = 1 - tanh² = 1 - y²
  static constexpr const char* name = "tanh";
  static constexpr UnarySaved saved = UnarySaved::Output;
  static Batch<T> forward(const Batch<T>& x) { return xsimd::tanh(x); }
  static T forward_reference(T x) { return std::tanh(x); }
  static Batch<T> backward(const Batch<T>& y, const Batch<T>& grad) { return grad * (Batch<T>(T(1)) - y * y); }
  static T backward_reference(T y, T grad) { return grad * (T(1) - y * y); }
};

template <class T>
struct SigmoidOp {  // σ' = σ(1 - σ) = y(1 - y); 1/(1+e^-x) saturates cleanly to 0 and 1
  static constexpr const char* name = "sigmoid";
  static constexpr UnarySaved saved = UnarySaved::Output;
  static Batch<T> forward(const Batch<T>& x) { return Batch<T>(T(1)) / (Batch<T>(T(1)) + xsimd::exp(-x)); }
  static T forward_reference(T x) { return T(1) / (T(1) + std::exp(-x)); }
  static Batch<T> backward(const Batch<T>& y, const Batch<T>& grad) { return grad * y * (Batch<T>(T(1)) - y); }
  static T backward_reference(T y, T grad) { return grad * y * (T(1) - y); }
};

template <class T>
struct ReluOp {  // relu' = [x > 0]; NaN passes through the forward
  static constexpr const char* name = "relu";
  static constexpr UnarySaved saved = UnarySaved::Input;
  static Batch<T> forward(const Batch<T>& x) { return xsimd::select(x < Batch<T>(T(0)), Batch<T>(T(0)), x); }
  static T forward_reference(T x) { return x < T(0) ? T(0) : x; }
  static Batch<T> backward(const Batch<T>& x, const Batch<T>& grad) {
    return xsimd::select(x > Batch<T>(T(0)), grad, Batch<T>(T(0)));
  }
  static T backward_reference(T x, T grad) { return x > T(0) ? grad : T(0); }
};

// Φ(x) = (1 + erf(x/√2))/2, φ(x) = e^(-x²/2)/√(2π); gelu = x Φ(x), gelu' = Φ(x) + x φ(x).
template <class T>
struct GeluErfOp {
  static constexpr const char* name = "gelu_erf";
  static constexpr UnarySaved saved = UnarySaved::Input;
  static constexpr T inverse_sqrt2 = T(1) / std::numbers::sqrt2_v<T>;
  static constexpr T inverse_sqrt_2pi = std::numbers::inv_sqrtpi_v<T> * inverse_sqrt2;
  static Batch<T> forward(const Batch<T>& x) {
    const Batch<T> half(T(0.5));
    return half * x * (Batch<T>(T(1)) + xsimd::erf(x * Batch<T>(inverse_sqrt2)));
  }
  static T forward_reference(T x) { return T(0.5) * x * (T(1) + std::erf(x / std::sqrt(T(2)))); }
  static Batch<T> backward(const Batch<T>& x, const Batch<T>& grad) {
    const Batch<T> cdf = Batch<T>(T(0.5)) * (Batch<T>(T(1)) + xsimd::erf(x * Batch<T>(inverse_sqrt2)));
    const Batch<T> pdf = Batch<T>(inverse_sqrt_2pi) * xsimd::exp(Batch<T>(T(-0.5)) * x * x);
    return grad * xsimd::fma(x, pdf, cdf);
  }
  static T backward_reference(T x, T grad) {
    const T cdf = T(0.5) * (T(1) + std::erf(x / std::sqrt(T(2))));
    const T pdf = std::exp(T(-0.5) * x * x) / std::sqrt(T(2) * std::numbers::pi_v<T>);
    return grad * (cdf + x * pdf);
  }
};

// gelu_tanh = x/2 (1 + t), t = tanh u, u = k (x + c x³), k = √(2/π), c = 0.044715 (Hendrycks &
// Gimpel). Since (1 + tanh u)/2 = σ(2u), the vector form evaluates x σ(2u) = x / (1 + e^(-2u)):
// one exp and one division instead of a tanh, and no cancellation in 1 + t for negative u.
// Derivative: s = σ(2u), 1 - t² = 4 s (1 - s), so f' = s + 2 x s (1 - s) k (1 + 3c x²).
// The scalar reference keeps the tanh form, so the test compares two different evaluations.
template <class T>
struct GeluTanhOp {
  static constexpr const char* name = "gelu_tanh";
  static constexpr UnarySaved saved = UnarySaved::Input;
  static constexpr T k = std::numbers::sqrt2_v<T> * std::numbers::inv_sqrtpi_v<T>;
  static constexpr T c = T(0.044715);
  // 1 + e^(-2u), with -2u = -2k (x + c x³).
  static Batch<T> one_plus_exp_minus_two_u(const Batch<T>& x) {
    return Batch<T>(T(1)) + xsimd::exp(Batch<T>(T(-2) * k) * xsimd::fma(Batch<T>(c) * x, x * x, x));
  }
  static Batch<T> forward(const Batch<T>& x) { return x / one_plus_exp_minus_two_u(x); }
  static T forward_reference(T x) {
    return T(0.5) * x * (T(1) + std::tanh(std::sqrt(T(2) / std::numbers::pi_v<T>) * (x + c * x * x * x)));
  }
  static Batch<T> backward(const Batch<T>& x, const Batch<T>& grad) {
    const Batch<T> one(T(1));
    const Batch<T> s = one / one_plus_exp_minus_two_u(x);
    const Batch<T> du = Batch<T>(k) * xsimd::fma(Batch<T>(T(3) * c) * x, x, one);
    return grad * xsimd::fma((x + x) * s * (one - s), du, s);
  }
  static T backward_reference(T x, T grad) {
    const T kk = std::sqrt(T(2) / std::numbers::pi_v<T>);
    const T t = std::tanh(kk * (x + c * x * x * x));
    return grad * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * kk * (T(1) + T(3) * c * x * x));
  }
};

template <class T>
struct AbsOp {  // |x|' = sign(x), taken as 0 at 0
  static constexpr const char* name = "abs";
  static constexpr UnarySaved saved = UnarySaved::Input;
  static Batch<T> forward(const Batch<T>& x) { return xsimd::abs(x); }
  static T forward_reference(T x) { return std::fabs(x); }
  static Batch<T> backward(const Batch<T>& x, const Batch<T>& grad) {
    const Batch<T> zero(T(0));
    return xsimd::select(x > zero, grad, xsimd::select(x < zero, -grad, zero));
  }
  static T backward_reference(T x, T grad) { return x > T(0) ? grad : (x < T(0) ? -grad : T(0)); }
};

template <class T>
struct SquareOp {  // (x²)' = 2x
  static constexpr const char* name = "square";
  static constexpr UnarySaved saved = UnarySaved::Input;
  static Batch<T> forward(const Batch<T>& x) { return x * x; }
  static T forward_reference(T x) { return x * x; }
  static Batch<T> backward(const Batch<T>& x, const Batch<T>& grad) { return (x + x) * grad; }
  static T backward_reference(T x, T grad) { return T(2) * x * grad; }
};

template <class T>
struct ReciprocalOp {  // (1/x)' = -1/x² = -y²
  static constexpr const char* name = "reciprocal";
  static constexpr UnarySaved saved = UnarySaved::Output;
  static Batch<T> forward(const Batch<T>& x) { return Batch<T>(T(1)) / x; }
  static T forward_reference(T x) { return T(1) / x; }
  static Batch<T> backward(const Batch<T>& y, const Batch<T>& grad) { return -(y * y) * grad; }
  static T backward_reference(T y, T grad) { return -(y * y) * grad; }
};

template <class T, class Visitor>
decltype(auto) visit_unary(Unary op, Visitor&& visitor) {
  switch (op) {
    case Unary::Negate: return visitor(NegateOp<T>{});
    case Unary::Exp: return visitor(ExpOp<T>{});
    case Unary::Log: return visitor(LogOp<T>{});
    case Unary::Sqrt: return visitor(SqrtOp<T>{});
    case Unary::Tanh: return visitor(TanhOp<T>{});
    case Unary::Sigmoid: return visitor(SigmoidOp<T>{});
    case Unary::Relu: return visitor(ReluOp<T>{});
    case Unary::GeluErf: return visitor(GeluErfOp<T>{});
    case Unary::GeluTanh: return visitor(GeluTanhOp<T>{});
    case Unary::Abs: return visitor(AbsOp<T>{});
    case Unary::Square: return visitor(SquareOp<T>{});
    case Unary::Reciprocal: return visitor(ReciprocalOp<T>{});
  }
  return visitor(NegateOp<T>{});  // unreachable for valid enum values
}

// ---- binary --------------------------------------------------------------------------------

// Comparisons as 1/0 values of the input type.
template <class T>
Batch<T> indicator(const xsimd::batch_bool<T>& condition) {
  return xsimd::select(condition, Batch<T>(T(1)), Batch<T>(T(0)));
}

#define SF_BINARY_FUNCTOR(Name, text, vector_expression, scalar_expression)                   \
  template <class T>                                                                          \
  struct Name {                                                                               \
    static constexpr const char* name = text;                                                 \
    static Batch<T> apply(const Batch<T>& a, const Batch<T>& b) { return vector_expression; } \
    static T reference(T a, T b) { return scalar_expression; }                                \
  };

SF_BINARY_FUNCTOR(AddOp, "add", a + b, a + b)
SF_BINARY_FUNCTOR(SubtractOp, "subtract", a - b, a - b)
SF_BINARY_FUNCTOR(MultiplyOp, "multiply", a * b, a * b)
SF_BINARY_FUNCTOR(DivideOp, "divide", a / b, a / b)
// NaN-propagating: a NaN in either input gives NaN (as torch.maximum).
SF_BINARY_FUNCTOR(MaximumOp, "maximum", xsimd::select((a > b) | xsimd::isnan(a), a, b),
                  (a > b || std::isnan(a)) ? a : b)
SF_BINARY_FUNCTOR(MinimumOp, "minimum", xsimd::select((a < b) | xsimd::isnan(a), a, b),
                  (a < b || std::isnan(a)) ? a : b)
SF_BINARY_FUNCTOR(EqualOp, "equal", indicator<T>(a == b), T(a == b ? 1 : 0))
SF_BINARY_FUNCTOR(NotEqualOp, "not_equal", indicator<T>(a != b), T(a != b ? 1 : 0))
SF_BINARY_FUNCTOR(LessOp, "less", indicator<T>(a < b), T(a < b ? 1 : 0))
SF_BINARY_FUNCTOR(LessEqualOp, "less_equal", indicator<T>(a <= b), T(a <= b ? 1 : 0))
SF_BINARY_FUNCTOR(GreaterOp, "greater", indicator<T>(a > b), T(a > b ? 1 : 0))
SF_BINARY_FUNCTOR(GreaterEqualOp, "greater_equal", indicator<T>(a >= b), T(a >= b ? 1 : 0))
#undef SF_BINARY_FUNCTOR

template <class T, class Visitor>
decltype(auto) visit_binary(Binary op, Visitor&& visitor) {
  switch (op) {
    case Binary::Add: return visitor(AddOp<T>{});
    case Binary::Subtract: return visitor(SubtractOp<T>{});
    case Binary::Multiply: return visitor(MultiplyOp<T>{});
    case Binary::Divide: return visitor(DivideOp<T>{});
    case Binary::Maximum: return visitor(MaximumOp<T>{});
    case Binary::Minimum: return visitor(MinimumOp<T>{});
    case Binary::Equal: return visitor(EqualOp<T>{});
    case Binary::NotEqual: return visitor(NotEqualOp<T>{});
    case Binary::Less: return visitor(LessOp<T>{});
    case Binary::LessEqual: return visitor(LessEqualOp<T>{});
    case Binary::Greater: return visitor(GreaterOp<T>{});
    case Binary::GreaterEqual: return visitor(GreaterEqualOp<T>{});
  }
  return visitor(AddOp<T>{});  // unreachable for valid enum values
}

}  // namespace sf::kernels::functors
