// Local (banded) multi-head attention with a learned relative-position bias, fused.
//
// Each query i attends only to keys j with |i - j| <= w (edges masked, no wrap-around), so the
// cost is O(B·H·L·(2w+1)·Dh) instead of the O(B·H·L²·Dh) of full attention.
//
//   s_ij = scale · q_i·k_j + β[h, j - i + w]     (β: relative bias, [H, 2w+1]; optional)
//   s_ij = -inf where key j is padding            (key_keep[b, j] == 0)
//   p_i· = softmax_j(s_i·)                        (a row with no visible key gives zeros)
//   o_i  = Σ_j p_ij v_j
// backward, with g_i = dL/do_i:
//   dp_ij = g_i·v_j,   dv_j += p_ij g_i
//   ds_ij = p_ij (dp_ij - Σ_j' p_ij' dp_ij')
//   dq_i  = scale Σ_j ds_ij k_j,   dk_j += scale ds_ij q_i,   dβ[h, j - i + w] += ds_ij
// Shapes: q, k, v, o [B, H, L, Dh]; key_keep [B, L]; the band of p is saved as [B, H, L, 2w+1].
// The kernels (core/src/kernels/local_attention.cpp) split the work over the B·H (batch, head)
// pairs, each computed by one task, so the result is bit-identical for any thread count; dβ is
// reduced over the batch here in a fixed order.
#include <cmath>
#include <limits>

#include "sf/autograd/functional_local_attention.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/kernels/local_attention.hpp"

namespace sf {
namespace {

using BandGeometry = kernels::LocalAttentionShape;

struct LocalAttentionBackward : SavingNode<LocalAttentionBackward> {
  SavedTensor query, key, value, probabilities;
  BandGeometry geometry;
  double scale = 1.0;
  bool has_bias = false;
  std::string name() const override { return "LocalAttentionBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    const std::string node = name();
    const Tensor& q = query.get(node);
    const Tensor& k = key.get(node);
    const Tensor& v = value.get(node);
    const Tensor& p = probabilities.get(node);
    const Tensor g = grad.contiguous();
    Tensor grad_q = Tensor::empty(q.shape(), q.dtype()), grad_k = Tensor::empty(k.shape(), k.dtype()),
           grad_v = Tensor::empty(v.shape(), v.dtype());
    Tensor bias_parts = Tensor::empty({geometry.batch, geometry.heads, geometry.band()}, q.dtype());
    dispatch_dtype(q.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kernels::local_attention_backward<T>(geometry, q.data<T>(), k.data<T>(), v.data<T>(), p.data<T>(), g.data<T>(),
                                           static_cast<T>(scale), grad_q.data<T>(), grad_k.data<T>(), grad_v.data<T>(),
                                           bias_parts.data<T>());
    });
    std::vector<Tensor> result{grad_q, grad_k, grad_v};
    if (has_bias) {
      // Σ over the batch in order: deterministic.
      Tensor grad_bias = Tensor::zeros({geometry.heads, geometry.band()}, q.dtype());
      dispatch_dtype(q.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* parts = bias_parts.data<T>();
        T* out = grad_bias.data<T>();
        for (std::int64_t b = 0; b < geometry.batch; ++b)
          for (std::int64_t index = 0; index < geometry.heads * geometry.band(); ++index)
            out[index] += parts[b * geometry.heads * geometry.band() + index];
      });
      result.push_back(grad_bias);
    }
    return result;
  }
  auto saved() { return std::tie(query, key, value, probabilities); }
};

// Whether x [B, H, L, Dh] is the head view of a contiguous [B, L, H, Dh] (H · Dh = D) buffer.
bool token_major_heads(const Tensor& x) {
  const std::int64_t heads = x.size(1), length = x.size(2), head_dimension = x.size(3);
  return x.strides() == Shape{length * heads * head_dimension, head_dimension, heads * head_dimension, 1};
}

}  // namespace

Variable local_attention(const Variable& q, const Variable& k, const Variable& v, std::int64_t window,
                         const Variable& relative_bias, const Tensor& key_keep, Tensor* probabilities_out) {
  if (q.dim() != 4 || q.shape() != k.shape() || q.shape() != v.shape())
    fail("local_attention: query {}, key {} and value {} must all be [B, H, L, Dh]", shape_string(q.shape()),
         shape_string(k.shape()), shape_string(v.shape()));
  BandGeometry geometry{q.size(0), q.size(1), q.size(2), q.size(3), window};
  if (window < 0) fail("local_attention: window must be non-negative, got {}", window);
  const bool has_bias = relative_bias.defined();
  if (has_bias && relative_bias.shape() != Shape{geometry.heads, geometry.band()})
    fail("local_attention: relative bias {} must be [H, 2w+1] = [{}, {}]", shape_string(relative_bias.shape()),
         geometry.heads, geometry.band());
  if (key_keep.defined() && key_keep.shape() != Shape{geometry.batch, geometry.length})
    fail("local_attention: key mask {} must be [B, L] = [{}, {}]", shape_string(key_keep.shape()), geometry.batch,
         geometry.length);
  const DType dtype = q.dtype();
  std::vector<Variable> inputs{q, k, v};
  if (has_bias) inputs.push_back(relative_bias);
  const bool graph = needs_graph(inputs);
  // Without a graph, heads split from [B, L, D] rows (a permuted view, token-major in memory) are
  // read where they lie and the output is written token-major, returned as the same kind of view:
  // no copies for the split and the merge. The backward's kernel wants [B, H, L, Dh] copies.
  geometry.token_major = !graph && token_major_heads(q.data()) && token_major_heads(k.data()) &&
                         token_major_heads(v.data());
  const Tensor query = geometry.token_major ? q.data() : q.data().contiguous();
  const Tensor key = geometry.token_major ? k.data() : k.data().contiguous();
  const Tensor value = geometry.token_major ? v.data() : v.data().contiguous();
  const Tensor bias = has_bias ? relative_bias.data().contiguous() : Tensor();
  const Tensor keep = key_keep.defined() ? key_keep.to(dtype).contiguous() : Tensor();
  const double scale = 1.0 / std::sqrt(static_cast<double>(geometry.head_dimension));
  Tensor probabilities = Tensor::empty({geometry.batch, geometry.heads, geometry.length, geometry.band()}, dtype);
  Tensor output = geometry.token_major ? Tensor::empty({geometry.batch, geometry.length, geometry.heads,
                                                        geometry.head_dimension}, dtype)
                                       : Tensor::empty(q.shape(), dtype);
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    kernels::local_attention_forward<T>(geometry, query.data<T>(), key.data<T>(), value.data<T>(),
                                        has_bias ? bias.data<T>() : nullptr, keep.defined() ? keep.data<T>() : nullptr,
                                        static_cast<T>(scale), probabilities.data<T>(), output.data<T>());
  });
  if (probabilities_out) *probabilities_out = probabilities;
  if (geometry.token_major) return Variable(output.permute({0, 2, 1, 3}));
  if (!graph) return Variable(std::move(output));
  auto node = std::make_shared<LocalAttentionBackward>();
  node->query = SavedTensor(query);
  node->key = SavedTensor(key);
  node->value = SavedTensor(value);
  node->probabilities = SavedTensor(probabilities);
  node->geometry = geometry;
  node->scale = scale;
  node->has_bias = has_bias;
  return attach_node(std::move(node), std::move(output), inputs);
}

}  // namespace sf
