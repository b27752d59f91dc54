// Scaled dot-product attention, fused: one node instead of six.
//
//   S = s · Q Kᵀ (+ mask)         s = 1/sqrt(Dk) unless given; masked entries are -inf
//   P = softmax(S)                 over keys; a row with every key masked gives zeros
//   P' = P ⊙ M                     dropout on the weights (training only)
//   O = P' V
// backward, G = dL/dO:
//   dV = P'ᵀ G,   dP' = G Vᵀ,   dP = dP' ⊙ M,
//   dS = P ⊙ (dP - Σ_keys dP ⊙ P)   (softmax backward),
//   dQ = s · dS K,   dK = s · dSᵀ Q
// Shapes: Q [..., Lq, Dk], K [..., Lk, Dk], V [..., Lk, Dv], O [..., Lq, Dv]; the mask broadcasts
// to [..., Lq, Lk]. window >= 0 restricts query i to keys j with |i - j| <= window (a band),
// edges masked, no wrap-around.
#include <cmath>
#include <limits>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"
#include "sf/core/matmul.hpp"

namespace sf {
namespace {

struct AttentionBackward : SavingNode<AttentionBackward> {
  SavedTensor query, key, value, probabilities, dropped_probabilities;
  compute::ByteMask dropout_mask;  // M, one byte per weight (empty without dropout)
  bool dropout = false;
  double scale = 1.0;
  std::string name() const override { return "ScaledDotProductAttentionBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    const std::string node = name();
    const Tensor& p = probabilities.get(node);
    const Tensor& weights = dropped_probabilities.defined() ? dropped_probabilities.get(node) : p;
    Tensor grad_value;
    if (needs_input_grad(2)) grad_value = compute::matmul(weights, grad, true, false);
    Tensor grad_query, grad_key;
    if (needs_input_grad(0) || needs_input_grad(1)) {
      Tensor grad_weights = compute::matmul(grad, value.get(node), false, true);
      if (dropout) grad_weights = compute::multiply_by_mask(grad_weights, dropout_mask);
      const Tensor grad_scores = compute::multiply_scalar(compute::softmax_backward(p, grad_weights), scale);
      if (needs_input_grad(0)) grad_query = compute::matmul(grad_scores, key.get(node));
      if (needs_input_grad(1)) grad_key = compute::matmul(grad_scores, query.get(node), true, false);
    }
    return {grad_query, grad_key, grad_value};
  }
  auto saved() { return std::tie(query, key, value, probabilities, dropped_probabilities); }
};

// [Lq, Lk] additive band mask: 0 where |i - j| <= window, -inf elsewhere.
Tensor band_mask(std::int64_t query_length, std::int64_t key_length, std::int64_t window, DType dtype) {
  Tensor mask = Tensor::empty({query_length, key_length}, dtype);
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* out = mask.data<T>();
    for (std::int64_t i = 0; i < query_length; ++i)
      for (std::int64_t j = 0; j < key_length; ++j)
        out[i * key_length + j] = (i - j <= window && j - i <= window) ? T(0) : -std::numeric_limits<T>::infinity();
  });
  return mask;
}

}  // namespace

Variable scaled_dot_product_attention(const Variable& q, const Variable& k, const Variable& v, const Tensor& mask,
                                      bool boolean_mask, const AttentionOptions& options, Generator* generator) {
  if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2 || q.size(-1) != k.size(-1) || k.size(-2) != v.size(-2))
    fail("attention: shapes do not match: query {}, key {}, value {} (expected [..., Lq, Dk], [..., Lk, Dk], [..., Lk, Dv])",
         shape_string(q.shape()), shape_string(k.shape()), shape_string(v.shape()));
  const double scale = options.scale > 0.0 ? options.scale : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const std::int64_t query_length = q.size(-2), key_length = k.size(-2);
  Tensor scores = compute::multiply_scalar(compute::matmul(q.data(), k.data(), false, true), scale);
  if (options.window >= 0) scores = compute::add(scores, band_mask(query_length, key_length, options.window, q.dtype()));
  if (mask.defined()) {
    Shape score_shape = scores.shape();
    if (!is_broadcastable_to(mask.shape(), score_shape))
      fail("attention: mask {} cannot be broadcast to the scores {} (query {}, key {})", shape_string(mask.shape()),
           shape_string(score_shape), shape_string(q.shape()), shape_string(k.shape()));
    scores = boolean_mask ? compute::where(mask.dtype() == scores.dtype() ? mask : mask.to(scores.dtype()), scores,
                                           Tensor::scalar(-std::numeric_limits<double>::infinity(), scores.dtype()))
                          : compute::add(scores, mask.dtype() == scores.dtype() ? mask : mask.to(scores.dtype()));
  }
  Tensor probabilities = compute::softmax(scores);
  scores = Tensor();
  const bool graph = needs_graph({&q, &k, &v});
  const bool dropout = options.training && options.dropout > 0.0;
  Tensor weights = probabilities;
  compute::ByteMask dropout_mask;
  if (dropout) {  // P' and M in one pass (the byte mask only when the backward will need it)
    if (generator == nullptr) fail("attention: dropout {} needs a generator", options.dropout);
    compute::DropoutResult dropped = compute::dropout(probabilities, *generator, options.dropout, graph);
    weights = std::move(dropped.output);
    dropout_mask = std::move(dropped.mask);
  }
  Tensor output = compute::matmul(weights, v.data());
  if (!graph) return Variable(std::move(output));
  auto node = std::make_shared<AttentionBackward>();
  node->query = SavedTensor(q.data());
  node->key = SavedTensor(k.data());
  node->value = SavedTensor(v.data());
  node->probabilities = SavedTensor(probabilities);
  if (dropout) {
    node->dropped_probabilities = SavedTensor(weights);
    node->dropout_mask = std::move(dropout_mask);
    node->dropout = true;
  }
  node->scale = scale;
  return attach_node(std::move(node), std::move(output), {&q, &k, &v});
}

}  // namespace sf
