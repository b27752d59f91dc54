// Tensor-level elementwise functions (namespace sf::compute) over kernels/elementwise.hpp.
//
// Conventions of every sf::compute function:
// - inputs may be any strided tensor (views, slices, expanded, permuted); outputs are fresh,
//   contiguous tensors of the input dtype;
// - binary-style functions broadcast as NumPy does;
// - misuse throws sf::Error naming the op and printing every shape involved, e.g.
//   "add: shapes cannot be broadcast: [32, 128] vs [64, 16]";
// - results are bit-identical for any thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "sf/core/kernels/elementwise.hpp"
#include "sf/core/random.hpp"
#include "sf/core/tensor.hpp"

namespace sf::compute {

using kernels::Binary;
using kernels::Unary;
using kernels::UnarySaved;

// y = f(x); see kernels::Unary for the list.
Tensor unary(Unary op, const Tensor& x);
// grad_x = f'(x) · grad_y. Which of x and y is read is unary_saved(op) (kernels/elementwise.hpp):
//   y only:  Exp, Sqrt, Tanh, Sigmoid, Reciprocal
//   x only:  Log, Relu, GeluErf, GeluTanh, Abs, Square
//   neither: Negate
// The unused one may be an undefined Tensor.
Tensor unary_backward(Unary op, const Tensor& x, const Tensor& y, const Tensor& grad_y);
using kernels::unary_saved;

// a ∘ b with broadcasting; comparisons give 1/0 in the input dtype. a and b share a dtype.
Tensor binary(Binary op, const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, const Tensor& b);
Tensor subtract(const Tensor& a, const Tensor& b);
Tensor multiply(const Tensor& a, const Tensor& b);
Tensor divide(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // NaN-propagating
Tensor minimum(const Tensor& a, const Tensor& b);

// Scalar forms (the scalar is rounded to x's dtype).
Tensor add_scalar(const Tensor& x, double value);
Tensor multiply_scalar(const Tensor& x, double value);
Tensor power_scalar(const Tensor& x, double exponent);  // x^exponent
Tensor clamp(const Tensor& x, double low, double high);  // min(max(x, low), high); NaN stays NaN

// condition != 0 ? a : b, all three broadcast together. a and b share a dtype; the condition may
// be of either dtype (only its non-zero-ness is used).
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
// mask != 0 ? value : x; mask (any dtype) broadcasts to x's shape, the result has x's shape.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

// In place, bumping the destination's version: destination += alpha · source, with source
// broadcast to destination's shape (gradient accumulation). destination must be contiguous.
void add_(Tensor& destination, const Tensor& source, double alpha = 1.0);
// destination *= factor; destination must be contiguous.
void scale_(Tensor& destination, double factor);

// Inverted-dropout mask: each element is 0 with probability p and 1/(1 - p) otherwise (all 0 when
// p = 1). Element i uses word i % 4 of the generator's block offset + i / 4 (one Philox block per four
// elements, kernels/random_bits.hpp), so the mask does not depend on the thread count; the
// generator advances by ceil(shape_numel(shape) / 4).
Tensor dropout_mask(const Shape& shape, Generator& generator, double drop_probability, DType dtype = DType::Float32);

// A dropout mask kept for the backward pass in a quarter (float32) or an eighth (float64) of its
// memory: one byte per element (1 = kept) and the one value every kept element has.
struct ByteMask {
  std::vector<std::uint8_t> keep;
  Shape shape;
  DType dtype = DType::Float32;
  double kept_value = 0.0;  // exactly representable in dtype
};
// mask's entries are 0 or kept_value (as dropout_mask makes them: kept_value = 1 / (1 - p) in the
// mask's dtype; use dropout_kept_value).
ByteMask to_byte_mask(const Tensor& mask, double kept_value);
// Inverted dropout in one pass: output = x ⊙ dropout_mask(x.shape(), generator, p, x.dtype()) and
// that mask as a ByteMask (left empty unless keep_mask), with the same bits and the same advance
// of the generator, but no float mask made, written and read twice.
struct DropoutResult {
  Tensor output;
  ByteMask mask;
};
DropoutResult dropout(const Tensor& x, Generator& generator, double drop_probability, bool keep_mask);
// The value dropout_mask gives a kept element, as a double that is exact in dtype.
double dropout_kept_value(double drop_probability, DType dtype);
// x ⊙ mask: the same bits as multiply(x, mask) with the mask it was made from.
Tensor multiply_by_mask(const Tensor& x, const ByteMask& mask);

}  // namespace sf::compute
