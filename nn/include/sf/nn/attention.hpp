// Multi-head self-attention over a sequence [B, L, D].
//
//   Q = x W_qᵀ, K = x W_kᵀ, V = x W_vᵀ       (or one tied projection: Q = K = V = x Wᵀ)
//   split into H heads of D/H:  [B, L, D] -> [B, H, L, D/H]
//   O_h = softmax(Q_h K_hᵀ / sqrt(D/H) + mask) V_h     (mask: padding keys, local window band)
//   y = concat_h(O_h) W_oᵀ + b_o                        (or no output projection)
//
// Parameter names: query/key/value (or qkv when tied), output.
#pragma once

#include <memory>

#include "sf/nn/layers.hpp"

namespace sf::nn {

struct MultiHeadAttentionOptions {
  std::int64_t dimension = 0;
  std::int64_t heads = 1;
  std::int64_t window = -1;        // >= 0: each query sees keys within ±window (a band); -1: all keys
  bool tied_qkv = false;           // one projection shared by Q, K and V
  bool output_projection = true;
  bool bias = true;
  double dropout = 0.0;            // on the attention weights
};

class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(const MultiHeadAttentionOptions& options, Generator& init_generator,
                     std::shared_ptr<Generator> dropout_generator);
  // x [B, L, D]; key_keep [B, L] with 1 for real tokens and 0 for padding (or undefined).
  Variable forward(const Variable& x, const Tensor& key_keep = Tensor());
  // The attention weights [B, H, L, L] of a forward without dropout, for explain().
  Tensor attention_weights(const Variable& x, const Tensor& key_keep = Tensor());
  std::string describe() const override;
  MultiHeadAttentionOptions options;

 private:
  struct Projections {
    Variable query, key, value;  // [B, H, L, D/H]
  };
  Projections project(const Variable& x);
  Tensor key_mask(const Tensor& key_keep, DType dtype) const;

  std::shared_ptr<Linear> query_, key_, value_, qkv_, output_;
  std::shared_ptr<Generator> dropout_generator_;
};

}  // namespace sf::nn
