// The original SwarmFormer blocks, line for line the reference PyTorch model (see blocks.hpp).
#include <cmath>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/functional_fused.hpp"
#include "sf/autograd/grad_mode.hpp"
#include "sf/core/compute.hpp"
#include "sf/swarmformer/blocks.hpp"

namespace sf {

std::shared_ptr<nn::Sequential> make_gate_network(std::int64_t dimension, Generator& init_generator) {
  auto gate = std::make_shared<nn::Sequential>();
  gate->append(std::make_shared<nn::Linear>(nn::LinearOptions{2 * dimension, dimension}, init_generator));
  gate->append(std::make_shared<nn::ActivationLayer>(nn::Activation::Gelu));
  gate->append(std::make_shared<nn::Linear>(nn::LinearOptions{dimension, dimension}, init_generator));
  gate->append(std::make_shared<nn::ActivationLayer>(nn::Activation::Sigmoid));
  return gate;
}

Variable gate_forward(nn::Sequential& gate_net, const Variable& x, const Variable& update) {
  // gate_net(concat([x, update])) with the concatenation folded into the first Linear.
  auto& first = static_cast<nn::Linear&>(gate_net[0]);
  Variable hidden = linear_concat(x, update, first.weight, first.bias);
  for (std::size_t index = 1; index < gate_net.size(); ++index) hidden = gate_net[index].forward(hidden);
  return hidden;
}

Variable roll_sequence(const Variable& x, std::int64_t shift) {
  const std::int64_t length = x.size(1);
  shift = ((shift % length) + length) % length;
  if (shift == 0) return x;
  // out[i] = x[i - shift]: the last `shift` tokens move to the front.
  return concat({slice(x, 1, length - shift, length), slice(x, 1, 0, length - shift)}, 1);
}

Variable uniform_clusters(const Variable& x, std::int64_t size, const Tensor& keep) {
  const std::int64_t batch = x.size(0), length = x.size(1), dimension = x.size(2);
  const Variable grouped = reshape(x, {batch, length / size, size, dimension});
  if (!keep.defined()) return mean(grouped, {2});
  // Σ_i keep_i x_i / max(Σ_i keep_i, 1) over each group: empty (all-padding) clusters are zero.
  const Tensor weights = keep.to(x.dtype()).reshape({batch, length / size, size, 1});
  Tensor counts = compute::sum(weights, {2});
  counts = compute::maximum(counts, Tensor::scalar(1.0, x.dtype()));
  return sum(grouped * Variable(weights), {2}) / Variable(counts);
}

Variable repeat_clusters(const Variable& clusters, std::int64_t size) {
  const std::int64_t batch = clusters.size(0), count = clusters.size(1), dimension = clusters.size(2);
  return reshape(expand(unsqueeze(clusters, 2), {batch, count, size, dimension}), {batch, count * size, dimension});
}

LocalSwarmAggregator::LocalSwarmAggregator(const BlockContext& context) {
  const std::int64_t dimension = context.config->d_model;
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(context.config->local_dropout, context.noise));
  mlp_ = register_module("mlp", std::make_shared<nn::MLP>(nn::MLPOptions{dimension, dimension, dimension,
                                                                          nn::Activation::Gelu,
                                                                          context.config->local_dropout},
                                                          *context.init_generator, context.noise));
  gate_net_ = register_module("gate_net", make_gate_network(dimension, *context.init_generator));
}

Variable LocalSwarmAggregator::forward(const Variable& input) {
  const Variable x = dropout_->forward(input);
  // (roll(x, +1) + x + roll(x, -1)) / 3, fused.
  const Variable neighbors = neighbor_mean(x);
  const Variable update = dropout_->forward(mlp_->forward(neighbors));
  const Variable gate = gate_forward(*gate_net_, x, update);
  return gated_interpolation(x, update, gate);  // x + g ⊙ (u − x)
}

GlobalClusterAttention::GlobalClusterAttention(const BlockContext& context, bool tied_qkv)
    : tied_(tied_qkv), noise_(context.noise), attention_dropout_(context.config->attention_dropout) {
  const std::int64_t dimension = context.config->d_model;
  const nn::LinearOptions projection{dimension, dimension};
  if (tied_) {
    qkv_ = register_module("qkv", std::make_shared<nn::Linear>(projection, *context.init_generator));
  } else {
    query_ = register_module("query", std::make_shared<nn::Linear>(projection, *context.init_generator));
    key_ = register_module("key", std::make_shared<nn::Linear>(projection, *context.init_generator));
    value_ = register_module("value", std::make_shared<nn::Linear>(projection, *context.init_generator));
  }
  output_dropout_ = register_module(
      "output_dropout", std::make_shared<nn::Dropout>(context.config->attention_output_dropout, context.noise));
}

Variable GlobalClusterAttention::forward(const Variable& clusters, Tensor* weights_out) {
  Variable q, k, v;
  if (tied_) {
    q = k = v = qkv_->forward(clusters);
  } else {
    q = query_->forward(clusters);
    k = key_->forward(clusters);
    v = value_->forward(clusters);
  }
  AttentionOptions options;  // scale 1/√D: one head of width D
  options.dropout = attention_dropout_;
  options.training = is_training();
  if (weights_out) {
    NoGradGuard no_grad;
    *weights_out = softmax(matmul(q, k, false, true) * (1.0 / std::sqrt(static_cast<double>(clusters.size(-1))))).data().unsqueeze(1);
  }
  return output_dropout_->forward(scaled_dot_product_attention(q, k, v, Tensor(), true, options, noise_.get()));
}

std::string GlobalClusterAttention::describe() const {
  return fmt::format("GlobalClusterAttention(tied_qkv={})", tied_);
}

BroadcastUpdater::BroadcastUpdater(const BlockContext& context) {
  const std::int64_t dimension = context.config->d_model;
  linear_ = register_module("linear", std::make_shared<nn::Linear>(nn::LinearOptions{dimension, dimension},
                                                                    *context.init_generator));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(context.config->broadcast_dropout, context.noise));
  gate_net_ = register_module("gate_net", make_gate_network(dimension, *context.init_generator));
}

Variable BroadcastUpdater::forward(const Variable& x, const Variable& cluster_tokens) {
  const Variable update = dropout_->forward(linear_->forward(cluster_tokens));
  const Variable gate = gate_forward(*gate_net_, x, update);
  return gated_residual(x, gate, update);  // x + g ⊙ u
}

}  // namespace sf
