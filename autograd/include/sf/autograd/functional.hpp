// Differentiable ops on Variables. Each is implemented in autograd/src/ops/<family>.cpp with
// its forward and backward side by side and the math on top.
//
// Broadcasting follows NumPy; gradients of broadcast inputs are reduced by the engine.
#pragma once

#include <cstdint>
#include <vector>

#include "sf/autograd/variable.hpp"
#include "sf/core/random.hpp"

namespace sf {

// ---- arithmetic (ops/arithmetic.cpp) -------------------------------------------------------
Variable add(const Variable& a, const Variable& b);
Variable subtract(const Variable& a, const Variable& b);
Variable multiply(const Variable& a, const Variable& b);
Variable divide(const Variable& a, const Variable& b);
Variable negate(const Variable& x);
Variable add_scalar(const Variable& x, double value);
Variable multiply_scalar(const Variable& x, double value);
inline Variable operator+(const Variable& a, const Variable& b) { return add(a, b); }
inline Variable operator-(const Variable& a, const Variable& b) { return subtract(a, b); }
inline Variable operator*(const Variable& a, const Variable& b) { return multiply(a, b); }
inline Variable operator/(const Variable& a, const Variable& b) { return divide(a, b); }
inline Variable operator-(const Variable& x) { return negate(x); }
inline Variable operator+(const Variable& x, double value) { return add_scalar(x, value); }
inline Variable operator*(const Variable& x, double value) { return multiply_scalar(x, value); }
inline Variable operator*(double value, const Variable& x) { return multiply_scalar(x, value); }

// ---- pointwise math and activations (ops/unary.cpp) -----------------------------------------
Variable exp(const Variable& x);
Variable log(const Variable& x);
Variable sqrt(const Variable& x);
Variable abs(const Variable& x);
Variable pow(const Variable& x, double exponent);
Variable clamp(const Variable& x, double low, double high);
Variable sigmoid(const Variable& x);
Variable tanh(const Variable& x);
Variable relu(const Variable& x);
enum class GeluApproximation { Erf, Tanh };
Variable gelu(const Variable& x, GeluApproximation approximation = GeluApproximation::Erf);

// ---- selection (ops/selection.cpp) ---------------------------------------------------------
Variable maximum(const Variable& a, const Variable& b);  // elementwise; ties send the gradient to a
Variable minimum(const Variable& a, const Variable& b);
// condition != 0 picks a, else b; condition carries no gradient.
Variable where(const Tensor& condition, const Variable& a, const Variable& b);
// x where mask == 0, value where mask != 0 (mask broadcast to x).
Variable masked_fill(const Variable& x, const Tensor& mask, double value);

// ---- reductions (ops/reductions.cpp) -------------------------------------------------------
Variable sum(const Variable& x, const std::vector<std::int64_t>& axes = {}, bool keepdim = false);
Variable mean(const Variable& x, const std::vector<std::int64_t>& axes = {}, bool keepdim = false);
// Max over one axis; the gradient goes to the first maximal element.
Variable max(const Variable& x, std::int64_t axis, bool keepdim = false);

// ---- shapes (ops/shape_ops.cpp) ------------------------------------------------------------
Variable reshape(const Variable& x, const Shape& shape);
Variable permute(const Variable& x, const std::vector<std::int64_t>& order);
Variable transpose(const Variable& x, std::int64_t axis_a, std::int64_t axis_b);
Variable expand(const Variable& x, const Shape& shape);
Variable slice(const Variable& x, std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step = 1);
Variable unsqueeze(const Variable& x, std::int64_t axis);
Variable squeeze(const Variable& x, std::int64_t axis);
Variable concat(const std::vector<Variable>& inputs, std::int64_t axis);
Variable stack(const std::vector<Variable>& inputs, std::int64_t axis);
// Rows `indices` of x along `axis` (the result has indices.size() entries on that axis).
Variable index_select(const Variable& x, std::int64_t axis, const std::vector<std::int64_t>& indices);
// out[i][j] = x[i][index[i][j]] along `axis` (PyTorch gather); index has out's shape.
Variable gather(const Variable& x, std::int64_t axis, const std::vector<std::int64_t>& index, const Shape& index_shape);

// ---- matmul (ops/matmul.cpp) ---------------------------------------------------------------
// [..., M, K] x [..., K, N] -> [..., M, N], batch dimensions broadcast; transposes are free.
Variable matmul(const Variable& a, const Variable& b, bool transpose_a = false, bool transpose_b = false);
// x [..., in] · weight[out, in]^T + bias[out] -> [..., out]  (PyTorch's Linear layout)
Variable linear(const Variable& x, const Variable& weight, const Variable& bias);

// ---- softmax family (ops/softmax.cpp) ------------------------------------------------------
Variable softmax(const Variable& x);      // over the last axis
Variable log_softmax(const Variable& x);  // over the last axis

// ---- losses (ops/cross_entropy.cpp) --------------------------------------------------------
enum class Reduction { Mean, Sum, None };
struct CrossEntropyOptions {
  double label_smoothing = 0.0;
  std::int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
};
// logits [N, classes], targets N class indices.
Variable cross_entropy(const Variable& logits, const std::vector<std::int64_t>& targets,
                       const CrossEntropyOptions& options = {});

// ---- normalization (ops/layer_norm.cpp) ----------------------------------------------------
// Over the last axis; weight and bias [D] may be undefined Variables.
Variable layer_norm(const Variable& x, const Variable& weight, const Variable& bias, double eps = 1e-5);

// ---- randomness (ops/dropout.cpp: dropout and gumbel_softmax) -------------------------------------
// Inverted dropout: zero with probability p, scale the rest by 1/(1-p). Identity when !training.
Variable dropout(const Variable& x, double probability, bool training, Generator& generator);
// softmax((logits + g) / tau) over the last axis, g ~ Gumbel(0, 1) from `generator`.
// hard: the forward value is one-hot at the argmax, the gradient is the soft one's (straight-through).
Variable gumbel_softmax(const Variable& logits, double temperature, bool hard, Generator& generator);

// ---- embedding (ops/embedding.cpp) ---------------------------------------------------------
// weight [V, D], ids of shape ids_shape -> [..., D]; rows equal to padding_index get no gradient.
Variable embedding(const Variable& weight, const std::vector<std::int64_t>& ids, const Shape& ids_shape,
                   std::int64_t padding_index = -1);

// ---- attention (ops/attention.cpp) ---------------------------------------------------------
struct AttentionOptions {
  double scale = 0.0;          // 0: 1/sqrt(head dimension)
  std::int64_t window = -1;    // >= 0: query i sees keys j with |i - j| <= window (band); -1: full
  double dropout = 0.0;        // on the attention weights, training only
  bool training = false;
};
// q [..., Lq, Dk], k [..., Lk, Dk], v [..., Lk, Dv] -> [..., Lq, Dv].
// mask: undefined, or broadcastable to [..., Lq, Lk]; boolean_mask: nonzero = may attend
// (the convention of PyTorch's scaled_dot_product_attention for boolean masks).
// When the mask is additive (boolean_mask = false) it is added to the scores.
// Rows where every key is masked give zeros.
Variable scaled_dot_product_attention(const Variable& q, const Variable& k, const Variable& v,
                                      const Tensor& mask = Tensor(), bool boolean_mask = true,
                                      const AttentionOptions& options = {}, Generator* generator = nullptr);

}  // namespace sf
