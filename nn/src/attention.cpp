#include "sf/nn/attention.hpp"

#include "sf/core/compute.hpp"

namespace sf::nn {

MultiHeadAttention::MultiHeadAttention(const MultiHeadAttentionOptions& attention_options, Generator& init_generator,
                                       std::shared_ptr<Generator> dropout_generator)
    : options(attention_options), dropout_generator_(std::move(dropout_generator)) {
  if (options.dimension <= 0 || options.heads <= 0 || options.dimension % options.heads != 0)
    fail("MultiHeadAttention: {} heads do not divide dimension {}", options.heads, options.dimension);
  const LinearOptions projection{options.dimension, options.dimension, options.bias};
  if (options.tied_qkv) {
    qkv_ = register_module("qkv", std::make_shared<Linear>(projection, init_generator));
  } else {
    query_ = register_module("query", std::make_shared<Linear>(projection, init_generator));
    key_ = register_module("key", std::make_shared<Linear>(projection, init_generator));
    value_ = register_module("value", std::make_shared<Linear>(projection, init_generator));
  }
  if (options.output_projection) output_ = register_module("output", std::make_shared<Linear>(projection, init_generator));
}

MultiHeadAttention::Projections MultiHeadAttention::project(const Variable& x) {
  if (x.dim() != 3 || x.size(2) != options.dimension)
    fail("MultiHeadAttention: input {} must be [B, L, {}]", shape_string(x.shape()), options.dimension);
  const std::int64_t batch = x.size(0), length = x.size(1), head_dimension = options.dimension / options.heads;
  auto split_heads = [&](const Variable& projected) {
    return permute(reshape(projected, {batch, length, options.heads, head_dimension}), {0, 2, 1, 3});
  };
  if (options.tied_qkv) {
    Variable shared = split_heads(qkv_->forward(x));
    return {shared, shared, shared};
  }
  return {split_heads(query_->forward(x)), split_heads(key_->forward(x)), split_heads(value_->forward(x))};
}

Tensor MultiHeadAttention::key_mask(const Tensor& key_keep, DType dtype) const {
  if (!key_keep.defined()) return Tensor();
  if (key_keep.dim() != 2) fail("MultiHeadAttention: key mask {} must be [B, L]", shape_string(key_keep.shape()));
  return key_keep.to(dtype).reshape({key_keep.size(0), 1, 1, key_keep.size(1)});
}

Variable MultiHeadAttention::forward(const Variable& x, const Tensor& key_keep) {
  Projections projections = project(x);
  AttentionOptions attention;
  attention.window = options.window;
  attention.dropout = options.dropout;
  attention.training = is_training();
  Variable heads = scaled_dot_product_attention(projections.query, projections.key, projections.value,
                                                key_mask(key_keep, x.dtype()), true, attention,
                                                dropout_generator_.get());
  // [B, H, L, D/H] -> [B, L, H, D/H] -> [B, L, D]
  Variable merged = reshape(permute(heads, {0, 2, 1, 3}), {x.size(0), x.size(1), options.dimension});
  return output_ ? output_->forward(merged) : merged;
}

Tensor MultiHeadAttention::attention_weights(const Variable& x, const Tensor& key_keep) {
  Projections projections = project(x);
  // softmax(Q Kᵀ / sqrt(d) + mask) computed as attention over an identity "value".
  const std::int64_t length = x.size(1);
  Tensor identity = Tensor::zeros({length, length}, x.dtype());
  for (std::int64_t index = 0; index < length; ++index) identity.set({index, index}, 1.0);
  AttentionOptions attention;
  attention.window = options.window;
  return scaled_dot_product_attention(projections.query, projections.key, Variable(identity),
                                      key_mask(key_keep, x.dtype()), true, attention)
      .data();
}

std::string MultiHeadAttention::describe() const {
  return fmt::format("MultiHeadAttention(dimension={}, heads={}, window={}, tied_qkv={}, output_projection={}, dropout={})",
                     options.dimension, options.heads, options.window, options.tied_qkv, options.output_projection,
                     options.dropout);
}

}  // namespace sf::nn
