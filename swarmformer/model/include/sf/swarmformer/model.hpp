// The SwarmFormer text classifier: token ids [B, L] -> class logits [B, classes].
//
//   embedding (+ learned positions) -> dropout -> layers -> (final LayerNorm) -> mean over tokens
//   (real tokens only when padding is masked) -> dropout -> classifier
//
// Each layer: T local steps, clusters (uniform or routed), attention among clusters, and the
// update of every token from its cluster(s). See blocks.hpp and swarmformer/README.md.
#pragma once

#include <memory>
#include <vector>

#include "sf/swarmformer/blocks.hpp"
#include "sf/swarmformer/masked_lm.hpp"

namespace sf {

// What explain() reports for one layer (for teaching and inspection).
struct LayerExplanation {
  Tensor assignments;        // [B, L, C]: token-to-cluster weights (one-hot for uniform clusters)
  Tensor cluster_attention;  // [B, H, C, C]: attention weights among clusters
};

class SwarmFormerLayer : public nn::Module {
 public:
  SwarmFormerLayer(const BlockContext& context, std::int64_t layer_index);
  Variable forward(const Variable& x, const Tensor& keep, double temperature, LayerExplanation* explanation = nullptr);
  std::string describe() const override;

 private:
  const SwarmFormerConfig& config_;
  std::int64_t clusters_;
  std::shared_ptr<LocalSwarmAggregator> local_aggregator_;
  std::shared_ptr<LocalAttentionBlock> local_attention_;
  std::shared_ptr<Router> router_;
  std::shared_ptr<ClusterSelfAttention> cluster_attention_;
  std::shared_ptr<GlobalClusterAttention> global_attention_;
  std::shared_ptr<GatedFeedback> feedback_;
  std::shared_ptr<BroadcastUpdater> broadcast_;
};

class SwarmFormer : public nn::Module {
 public:
  // Builds and initializes the model; all initial weights and the noise stream come from `seed`.
  SwarmFormer(const SwarmFormerConfig& config, std::uint64_t seed);

  // ids: B × L token ids, row-major (each in [0, vocab_size)). Returns logits [B, num_classes].
  // Inference (evaluation mode, no graph recorded) runs the encoder in sub-batches of
  // inference_sub_batch() sequences, one task each, so a sub-batch's activations stay in the
  // core's L2 cache from one op to the next instead of going out to memory (the batch's do not).
  // The logits are the same bits as one pass over the whole batch: no sequence reads another.
  Variable forward(const std::vector<std::int64_t>& ids, std::int64_t batch);
  // Sequences per inference sub-batch; 0 runs every batch whole. The default keeps about
  // kInferenceSubBatchTokens tokens per sub-batch (at least one sequence).
  static constexpr std::int64_t kInferenceSubBatchTokens = 512;
  void set_inference_sub_batch(std::int64_t sequences);
  std::int64_t inference_sub_batch() const { return inference_sub_batch_; }

  // The encoder alone: token states [B, L, D] after the last layer (and the final LayerNorm of the
  // pre-LN variant), and the keep mask [B, L] (1 for a real token, 0 for padding; undefined when
  // padding is not masked). forward() pools them for the classifier; a masked-LM head reads them
  // at the masked positions.
  struct Encoded {
    Variable states;
    Tensor keep;
  };
  Encoded encode(const std::vector<std::int64_t>& ids, std::int64_t batch,
                 std::vector<LayerExplanation>* explanations = nullptr);
  // The token embedding table [V, D] (a masked-LM decoder ties its weight to it).
  const Variable& token_embedding_weight() const { return token_embedding_->weight; }

  // Self-pretraining: adds the masked-LM head as the child "mlm_head" (its own initial weights
  // from the model's seed, so the encoder's stay those of the same seed without it), and gives the
  // logits [M, V] at the chosen flat positions of a batch of (corrupted) ids.
  void add_masked_lm_head();
  bool has_masked_lm_head() const { return masked_lm_head_ != nullptr; }
  Variable masked_lm_logits(const std::vector<std::int64_t>& ids, std::int64_t batch, const std::vector<std::int64_t>& positions);
  // The same forward in evaluation mode, without a graph, also returning per-layer explanations.
  std::vector<LayerExplanation> explain(const std::vector<std::int64_t>& ids, std::int64_t batch, Tensor* logits = nullptr);

  // The training step drives the Gumbel temperature schedule.
  void set_training_step(std::int64_t step) { training_step_ = step; }
  std::int64_t training_step() const { return training_step_; }
  // Dropout and Gumbel noise of the whole model: its (seed, offset) go into checkpoints.
  Generator& noise_generator() { return *noise_; }
  const SwarmFormerConfig& config() const { return config_; }
  std::string describe() const override;

 private:
  Variable run(const std::vector<std::int64_t>& ids, std::int64_t batch, std::vector<LayerExplanation>* explanations);
  // The token states averaged over each sequence's real tokens: [B, D].
  Variable pool(const Encoded& encoded);
  // forward() at inference, the encoder and pooling sub-batch by sub-batch.
  Variable infer_in_sub_batches(const std::vector<std::int64_t>& ids, std::int64_t batch);

  SwarmFormerConfig config_;
  std::shared_ptr<Generator> noise_;
  std::int64_t training_step_ = 0;
  std::shared_ptr<nn::Module> embedding_;
  std::shared_ptr<nn::Embedding> token_embedding_;
  Variable position_embedding_;
  std::shared_ptr<nn::Dropout> embedding_dropout_, classifier_dropout_;
  std::vector<std::shared_ptr<SwarmFormerLayer>> layers_;
  std::shared_ptr<nn::LayerNorm> final_norm_;
  std::shared_ptr<nn::Linear> classifier_;
  std::shared_ptr<MaskedLanguageModelHead> masked_lm_head_;
  std::uint64_t seed_ = 0;
  std::int64_t inference_sub_batch_ = 1;
};

}  // namespace sf
