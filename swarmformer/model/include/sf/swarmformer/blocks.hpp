// The blocks of SwarmFormer. Shapes: x [B, L, D] tokens, c [B, C, D] clusters,
// keep [B, L] (1 real token, 0 padding; undefined = no masking).
//
// Original (the reference PyTorch model, parameter names as its state_dict):
//   LocalSwarmAggregator  x ← drop(x);  n = (roll(x, +1) + x + roll(x, -1)) / 3;  u = drop(mlp(n))
//                         g = gate_net([x, u]);  x ← x + g ⊙ (u − x)
//   GlobalClusterAttention  drop_out(softmax(q kᵀ / √D) with drop_attn · v)   (no output projection)
//   BroadcastUpdater      u = drop(linear(c_token));  g = gate_net([x, u]);  x ← x + g ⊙ u
// Enhanced (each used when its switch is on; swarmformer/README.md has the full math):
//   LocalAttentionBlock   windowed multi-head attention with a relative bias, gated update
//   Router                prototypes + Gumbel-softmax assignments + token gate (top fraction p)
//   ClusterSelfAttention  pre-LN multi-head attention over clusters with a residual
//   GatedFeedback         u = t + mlp(LN(t));  g = σ(gate([LN(x), u]));  x ← x + drop(g ⊙ u)
#pragma once

#include <memory>

#include "sf/nn/attention.hpp"
#include "sf/nn/layers.hpp"
#include "sf/swarmformer/config.hpp"

namespace sf {

// Everything a block needs besides its input.
struct BlockContext {
  const SwarmFormerConfig* config = nullptr;
  Generator* init_generator = nullptr;
  std::shared_ptr<Generator> noise;  // dropout and Gumbel noise for the whole model
};

// torch.nn.Sequential(Linear(2D, D), GELU, Linear(D, D), Sigmoid) — the reference gate_net.
std::shared_ptr<nn::Sequential> make_gate_network(std::int64_t dimension, Generator& init_generator);
// gate_net(concat([x, update], -1)) without materializing the concatenation.
Variable gate_forward(nn::Sequential& gate_net, const Variable& x, const Variable& update);

class LocalSwarmAggregator : public nn::Module {
 public:
  explicit LocalSwarmAggregator(const BlockContext& context);
  Variable forward(const Variable& x);
  std::string describe() const override { return "LocalSwarmAggregator"; }

 private:
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::Sequential> mlp_, gate_net_;
};

class GlobalClusterAttention : public nn::Module {
 public:
  GlobalClusterAttention(const BlockContext& context, bool tied_qkv);
  Variable forward(const Variable& clusters, Tensor* weights_out = nullptr);
  std::string describe() const override;

 private:
  bool tied_;
  std::shared_ptr<nn::Linear> query_, key_, value_, qkv_;
  std::shared_ptr<nn::Dropout> output_dropout_;
  std::shared_ptr<Generator> noise_;
  double attention_dropout_;
};

class BroadcastUpdater : public nn::Module {
 public:
  explicit BroadcastUpdater(const BlockContext& context);
  // cluster_tokens [B, L, D]: each token's cluster vector.
  Variable forward(const Variable& x, const Variable& cluster_tokens);
  std::string describe() const override { return "BroadcastUpdater"; }

 private:
  std::shared_ptr<nn::Linear> linear_;
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::Sequential> gate_net_;
};

class LocalAttentionBlock : public nn::Module {
 public:
  explicit LocalAttentionBlock(const BlockContext& context);
  Variable forward(const Variable& x, const Tensor& keep, Tensor* weights_out = nullptr);
  std::string describe() const override;

 private:
  const SwarmFormerConfig& config_;
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::Linear> query_, key_, value_, gate_;
  std::shared_ptr<nn::Dropout> dropout_;
  Variable relative_bias_;
};

struct Routing {
  Variable assignments;  // A [B, L, C], rows sum to 1
  Variable clusters;     // [B, C, D]
};

class Router : public nn::Module {
 public:
  Router(const BlockContext& context, std::int64_t clusters);
  Routing forward(const Variable& x, const Tensor& keep, double temperature);
  std::string describe() const override;

 private:
  const SwarmFormerConfig& config_;
  std::int64_t clusters_;
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::Linear> projection_, token_gate_;
  Variable prototypes_;
  std::shared_ptr<Generator> noise_;
};

class ClusterSelfAttention : public nn::Module {
 public:
  explicit ClusterSelfAttention(const BlockContext& context);
  Variable forward(const Variable& clusters, Tensor* weights_out = nullptr);
  std::string describe() const override { return "ClusterSelfAttention"; }

 private:
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::MultiHeadAttention> attention_;
  std::shared_ptr<nn::Dropout> dropout_;
};

class GatedFeedback : public nn::Module {
 public:
  explicit GatedFeedback(const BlockContext& context);
  Variable forward(const Variable& x, const Variable& cluster_tokens);
  std::string describe() const override { return "GatedFeedback"; }

 private:
  std::shared_ptr<nn::LayerNorm> token_norm_, cluster_norm_;
  std::shared_ptr<nn::MLP> mlp_;
  std::shared_ptr<nn::Linear> gate_;
  std::shared_ptr<nn::Dropout> dropout_;
};

// Helpers shared by the layers.
Variable roll_sequence(const Variable& x, std::int64_t shift);  // circular shift along axis 1
// Mean over each group of `size` consecutive tokens, ignoring padding when keep is defined:
// [B, L, D] -> [B, L/size, D].
Variable uniform_clusters(const Variable& x, std::int64_t size, const Tensor& keep);
// Each token gets its group's vector: [B, C, D] -> [B, C·size, D].
Variable repeat_clusters(const Variable& clusters, std::int64_t size);

}  // namespace sf
