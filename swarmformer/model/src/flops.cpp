#include "sf/swarmformer/flops.hpp"

#include <fmt/format.h>

namespace sf {
namespace {

// 2·M·N·K: a product of [M, K] and [K, N].
double product(double m, double n, double k) { return 2.0 * m * n * k; }
// Per-element costs of the elementwise work (approximate FLOPs per element touched).
constexpr double kGelu = 8, kSigmoid = 4, kSoftmax = 5, kLayerNorm = 8, kSimple = 1;

}  // namespace

double FlopsReport::forward_total() const {
  double total = 0;
  for (const BlockFlops& block : blocks) total += block.forward();
  return total;
}

double FlopsReport::backward_total() const {
  double total = 0;
  for (const BlockFlops& block : blocks) total += block.backward();
  return total;
}

nlohmann::json FlopsReport::to_json(std::int64_t sequences) const {
  nlohmann::json rows = nlohmann::json::array();
  const double scale = static_cast<double>(sequences);
  for (const BlockFlops& block : blocks)
    rows.push_back({{"block", block.block},
                    {"forward_flops", scale * block.forward()},
                    {"backward_flops", scale * block.backward()},
                    {"matmul_forward_flops", scale * block.matmul_forward},
                    {"elementwise_forward_flops", scale * block.elementwise_forward}});
  return {{"sequences", sequences},
          {"blocks", rows},
          {"forward_flops", scale * forward_total()},
          {"backward_flops", scale * backward_total()},
          {"training_step_flops", scale * (forward_total() + backward_total())}};
}

FlopsReport count_flops(const SwarmFormerConfig& config) {
  const double L = static_cast<double>(config.seq_len), D = static_cast<double>(config.d_model);
  const double T = static_cast<double>(config.local_steps);
  const bool enhanced = config.is_enhanced();
  FlopsReport report;
  // Embedding: a gather (no FLOPs); dropout one pass.
  report.blocks.push_back({"embedding", 0.0, kSimple * L * D});
  for (std::int64_t layer = 0; layer < config.num_layers; ++layer) {
    const std::string prefix = fmt::format("layers.{}.", layer);
    const double C = static_cast<double>(config.clusters_at(layer));
    BlockFlops local{prefix + fmt::format("local (x{})", config.local_steps)};
    if (enhanced && config.local_attention) {
      // Q, K, V projections; banded scores and values over 2w+1 keys; gate Linear(2D, D).
      const double band = static_cast<double>(2 * config.local_window + 1);
      local.matmul_forward = T * (3 * product(L, D, D) + 2 * product(L, band, D) + product(L, D, 2 * D));
      local.elementwise_forward = T * (kSoftmax * L * band * static_cast<double>(config.local_heads) +
                                       kSigmoid * L * D + 4 * kSimple * L * D + (config.pre_layer_norm ? kLayerNorm * L * D : 0));
    } else {
      // Rolling mean; mlp Linear(D, D)–GELU–Linear(D, D); gate_net Linear(2D, D)–GELU–Linear(D, D)–sigmoid.
      local.matmul_forward = T * (2 * product(L, D, D) + product(L, D, 2 * D) + product(L, D, D));
      local.elementwise_forward = T * ((4 + 6) * kSimple * L * D + 2 * kGelu * L * D + kSigmoid * L * D);
    }
    report.blocks.push_back(local);

    BlockFlops clusters{prefix + "clusters"};
    if (enhanced && config.dynamic_routing) {
      // projection, logits against C prototypes, token gate, weighted sums Aᵀh.
      clusters.matmul_forward = product(L, D, D) + product(L, C, D) + product(L, 1, D) + product(C, D, L);
      clusters.elementwise_forward = kSoftmax * L * C + 3 * kSimple * L * C + (config.pre_layer_norm ? kLayerNorm * L * D : 0);
    } else {
      clusters.elementwise_forward = kSimple * L * D;  // group means
    }
    report.blocks.push_back(clusters);

    BlockFlops attention{prefix + "cluster_attention"};
    const bool tied = enhanced && config.tied_qkv;
    const double projections = (tied ? 1 : 3) * product(C, D, D);
    if (enhanced && config.multi_head_cluster_attention) {
      attention.matmul_forward = projections + 2 * product(C, C, D) + product(C, D, D);  // + output projection
      attention.elementwise_forward = kSoftmax * C * C * static_cast<double>(config.cluster_heads) +
                                      (config.pre_layer_norm ? kLayerNorm * C * D : 0) + kSimple * C * D;
    } else {
      attention.matmul_forward = projections + 2 * product(C, C, D);
      attention.elementwise_forward = kSoftmax * C * C;
    }
    report.blocks.push_back(attention);

    BlockFlops update{prefix + "update"};
    const double read = enhanced && config.dynamic_routing ? product(L, D, C) : 0.0;  // A·r, else a copy
    if (enhanced && config.gated_feedback) {
      const double hidden = static_cast<double>(config.feedback_hidden);
      update.matmul_forward = read + product(L, hidden, D) + product(L, D, hidden) + product(L, D, 2 * D);
      update.elementwise_forward = kGelu * L * hidden + kSigmoid * L * D + 3 * kSimple * L * D +
                                   (config.pre_layer_norm ? 2 * kLayerNorm * L * D : 0);
    } else {
      // linear, gate_net Linear(2D, D)–GELU–Linear(D, D)–sigmoid.
      update.matmul_forward = read + product(L, D, D) + product(L, D, 2 * D) + product(L, D, D);
      update.elementwise_forward = kGelu * L * D + kSigmoid * L * D + 3 * kSimple * L * D;
    }
    report.blocks.push_back(update);
  }
  BlockFlops head{"head"};
  head.matmul_forward = product(1, static_cast<double>(config.num_classes), D);
  head.elementwise_forward = kSimple * L * D + (enhanced && config.pre_layer_norm ? kLayerNorm * L * D : 0);
  report.blocks.push_back(head);
  return report;
}

}  // namespace sf
