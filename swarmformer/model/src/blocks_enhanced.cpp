// The enhanced SwarmFormer blocks (see blocks.hpp and swarmformer/README.md for the math).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/functional_fused.hpp"
#include "sf/autograd/functional_local_attention.hpp"
#include "sf/core/compute.hpp"
#include "sf/swarmformer/blocks.hpp"

namespace sf {
namespace {

std::shared_ptr<nn::LayerNorm> make_norm(const SwarmFormerConfig& config) {
  return config.pre_layer_norm ? std::make_shared<nn::LayerNorm>(nn::LayerNormOptions{config.d_model}) : nullptr;
}

Variable normalize(const std::shared_ptr<nn::LayerNorm>& norm, const Variable& x) {
  return norm ? norm->forward(x) : x;
}

// [B, L, D] -> [B, H, L, D/H]
Variable split_heads(const Variable& x, std::int64_t heads) {
  return permute(reshape(x, {x.size(0), x.size(1), heads, x.size(2) / heads}), {0, 2, 1, 3});
}

// Token gate: among each sequence's real tokens, the ceil(p · count) with the highest scores
// (ties to the earlier token) update the clusters; 1 for those, 0 for the rest. Not
// differentiable itself: the gradient flows through the scores that multiply it.
Tensor top_fraction_mask(const Tensor& scores, const Tensor& keep, double fraction) {
  const std::int64_t batch = scores.size(0), length = scores.size(1);
  const std::vector<double> values = scores.to_vector();
  const std::vector<double> real = keep.defined() ? keep.to_vector() : std::vector<double>(values.size(), 1.0);
  std::vector<double> mask(values.size(), 0.0);
  std::vector<std::int64_t> order;
  for (std::int64_t b = 0; b < batch; ++b) {
    order.clear();
    for (std::int64_t i = 0; i < length; ++i)
      if (real[static_cast<std::size_t>(b * length + i)] != 0.0) order.push_back(i);
    const auto chosen = static_cast<std::int64_t>(std::ceil(fraction * static_cast<double>(order.size())));
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t left, std::int64_t right) {
      return values[static_cast<std::size_t>(b * length + left)] > values[static_cast<std::size_t>(b * length + right)];
    });
    for (std::int64_t rank = 0; rank < chosen; ++rank) mask[static_cast<std::size_t>(b * length + order[static_cast<std::size_t>(rank)])] = 1.0;
  }
  return Tensor::from_vector(mask, {batch, length, 1}, scores.dtype());
}

}  // namespace

LocalAttentionBlock::LocalAttentionBlock(const BlockContext& context) : config_(*context.config) {
  const std::int64_t dimension = config_.d_model;
  Generator& init = *context.init_generator;
  if (config_.pre_layer_norm) norm_ = register_module("norm", make_norm(config_));
  query_ = register_module("query", std::make_shared<nn::Linear>(nn::LinearOptions{dimension, dimension}, init));
  key_ = register_module("key", std::make_shared<nn::Linear>(nn::LinearOptions{dimension, dimension}, init));
  value_ = register_module("value", std::make_shared<nn::Linear>(nn::LinearOptions{dimension, dimension}, init));
  if (config_.position == "relative")
    relative_bias_ = register_parameter("relative_bias", Tensor::zeros({config_.local_heads, 2 * config_.local_window + 1}));
  gate_ = register_module("gate", std::make_shared<nn::Linear>(nn::LinearOptions{2 * dimension, dimension}, init));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(config_.local_dropout, context.noise));
}

Variable LocalAttentionBlock::forward(const Variable& x, const Tensor& keep, Tensor* weights_out) {
  const Variable h = normalize(norm_, x);
  const std::int64_t heads = config_.local_heads;
  Variable attended = local_attention(split_heads(query_->forward(h), heads), split_heads(key_->forward(h), heads),
                                      split_heads(value_->forward(h), heads), config_.local_window, relative_bias_, keep,
                                      weights_out);
  attended = reshape(permute(attended, {0, 2, 1, 3}), x.shape());
  const Variable update = dropout_->forward(attended);
  const Variable gate = sigmoid(linear_concat(h, update, gate_->weight, gate_->bias));
  // Pre-LN: a gated residual branch. Without it: the original's gated interpolation x + g(u - x).
  return config_.pre_layer_norm ? gated_residual(x, gate, update) : gated_interpolation(x, update, gate);
}

std::string LocalAttentionBlock::describe() const {
  return fmt::format("LocalAttentionBlock(window={}, heads={}, position={})", config_.local_window, config_.local_heads,
                     config_.position);
}

Router::Router(const BlockContext& context, std::int64_t clusters)
    : config_(*context.config), clusters_(clusters), noise_(context.noise) {
  const std::int64_t dimension = config_.d_model;
  Generator& init = *context.init_generator;
  if (config_.pre_layer_norm) norm_ = register_module("norm", make_norm(config_));
  projection_ = register_module("projection",
                                std::make_shared<nn::Linear>(nn::LinearOptions{dimension, dimension, false}, init));
  // Prototypes start as unit-variance directions scaled like the projected tokens.
  prototypes_ = register_parameter("prototypes", normal({clusters, dimension}, init));
  token_gate_ = register_module("token_gate", std::make_shared<nn::Linear>(nn::LinearOptions{dimension, 1}, init));
}

Routing Router::forward(const Variable& x, const Tensor& keep, double temperature) {
  const Variable h = normalize(norm_, x);
  // logits = (h W) Pᵀ / √D   [B, L, C]
  const Variable logits =
      matmul(projection_->forward(h), prototypes_, false, true) * (1.0 / std::sqrt(static_cast<double>(config_.d_model)));
  Variable assignments;
  if (is_training() && config_.gumbel_softmax) {
    assignments = gumbel_softmax(logits, temperature, config_.gumbel_hard, *noise_);
  } else if (config_.gumbel_hard) {
    // Deterministic at evaluation: the one-hot argmax of the logits.
    const std::vector<std::int64_t> winners = compute::argmax(logits.data(), -1);
    Tensor one_hot = Tensor::zeros(logits.shape(), logits.dtype());
    for (std::size_t row = 0; row < winners.size(); ++row)
      one_hot.set({static_cast<std::int64_t>(row) / x.size(1), static_cast<std::int64_t>(row) % x.size(1), winners[row]}, 1.0);
    assignments = Variable(one_hot);
  } else {
    assignments = softmax(logits);
  }
  // Token gate: scores s = σ(w·h + b); only the top fraction p of real tokens write to clusters.
  const Variable scores = sigmoid(token_gate_->forward(h));  // [B, L, 1]
  Tensor selected = top_fraction_mask(scores.data().reshape({x.size(0), x.size(1)}), keep, config_.routing_token_fraction);
  const Variable weights = assignments * (scores * Variable(selected));  // [B, L, C]
  // r_c = Σ_i w_ic h_i / (Σ_i w_ic + ε)
  const Variable totals = unsqueeze(sum(weights, {1}), -1) + 1e-6;  // [B, C, 1]
  const Variable clusters = matmul(weights, h, true, false) / totals;
  return {assignments, clusters};
}

std::string Router::describe() const {
  return fmt::format("Router(clusters={}, token_fraction={}, gumbel={}, hard={})", clusters_,
                     config_.routing_token_fraction, config_.gumbel_softmax, config_.gumbel_hard);
}

ClusterSelfAttention::ClusterSelfAttention(const BlockContext& context) {
  const SwarmFormerConfig& config = *context.config;
  if (config.pre_layer_norm) norm_ = register_module("norm", make_norm(config));
  nn::MultiHeadAttentionOptions options;
  options.dimension = config.d_model;
  options.heads = config.cluster_heads;
  options.tied_qkv = config.tied_qkv;
  options.output_projection = true;
  options.dropout = config.attention_dropout;
  attention_ = register_module("attention",
                               std::make_shared<nn::MultiHeadAttention>(options, *context.init_generator, context.noise));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(config.attention_output_dropout, context.noise));
}

Variable ClusterSelfAttention::forward(const Variable& clusters, Tensor* weights_out) {
  const Variable h = normalize(norm_, clusters);
  if (weights_out) *weights_out = attention_->attention_weights(h);
  return clusters + dropout_->forward(attention_->forward(h));
}

GatedFeedback::GatedFeedback(const BlockContext& context) {
  const SwarmFormerConfig& config = *context.config;
  const std::int64_t dimension = config.d_model;
  Generator& init = *context.init_generator;
  if (config.pre_layer_norm) {
    token_norm_ = register_module("token_norm", make_norm(config));
    cluster_norm_ = register_module("cluster_norm", make_norm(config));
  }
  mlp_ = register_module("mlp", std::make_shared<nn::MLP>(nn::MLPOptions{dimension, config.feedback_hidden, dimension,
                                                                          nn::Activation::Gelu, 0.0},
                                                          init, context.noise));
  gate_ = register_module("gate", std::make_shared<nn::Linear>(nn::LinearOptions{2 * dimension, dimension}, init));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(config.broadcast_dropout, context.noise));
}

Variable GatedFeedback::forward(const Variable& x, const Variable& cluster_tokens) {
  const Variable update = cluster_tokens + mlp_->forward(normalize(cluster_norm_, cluster_tokens));
  const Variable gate = sigmoid(linear_concat(normalize(token_norm_, x), update, gate_->weight, gate_->bias));
  return x + dropout_->forward(gate * update);
}

}  // namespace sf
