#include "sf/swarmformer/model.hpp"

#include <algorithm>

#include "sf/autograd/grad_mode.hpp"
#include "sf/core/compute.hpp"
#include "sf/core/parallel.hpp"

namespace sf {
namespace {

// A named container, so parameter names read "embedding.embed.weight" and "layers.0....".
class Container : public nn::Module {
 public:
  explicit Container(std::string description) : description_(std::move(description)) {}
  std::string describe() const override { return description_; }

 private:
  std::string description_;
};

// ids must hold `batch` (> 0) whole sequences of `length` tokens.
void check_batch_ids(const std::vector<std::int64_t>& ids, std::int64_t batch, std::int64_t length) {
  if (batch <= 0 || static_cast<std::int64_t>(ids.size()) != batch * length)
    fail("SwarmFormer: {} token ids do not form a batch of {} sequences of seq_len {}", ids.size(), batch, length);
}

}  // namespace

SwarmFormerLayer::SwarmFormerLayer(const BlockContext& context, std::int64_t layer_index)
    : config_(*context.config), clusters_(context.config->clusters_at(layer_index)) {
  const bool enhanced = config_.is_enhanced();
  if (enhanced && config_.local_attention)
    local_attention_ = register_module("local", std::make_shared<LocalAttentionBlock>(context));
  else
    local_aggregator_ = register_module("local_agg", std::make_shared<LocalSwarmAggregator>(context));
  if (enhanced && config_.dynamic_routing) router_ = register_module("router", std::make_shared<Router>(context, clusters_));
  if (enhanced && config_.multi_head_cluster_attention)
    cluster_attention_ = register_module("cluster_attention", std::make_shared<ClusterSelfAttention>(context));
  else
    global_attention_ =
        register_module("global_attn", std::make_shared<GlobalClusterAttention>(context, enhanced && config_.tied_qkv));
  if (enhanced && config_.gated_feedback)
    feedback_ = register_module("feedback", std::make_shared<GatedFeedback>(context));
  else
    broadcast_ = register_module("broadcast", std::make_shared<BroadcastUpdater>(context));
}

Variable SwarmFormerLayer::forward(const Variable& input, const Tensor& keep, double temperature,
                                   LayerExplanation* explanation) {
  Variable x = input;
  for (std::int64_t step = 0; step < config_.local_steps; ++step)
    x = local_attention_ ? local_attention_->forward(x, keep) : local_aggregator_->forward(x);

  const std::int64_t length = x.size(1), group = length / clusters_;
  Variable clusters, assignments;
  if (router_) {
    Routing routing = router_->forward(x, keep, temperature);
    clusters = routing.clusters;
    assignments = routing.assignments;
  } else {
    clusters = uniform_clusters(x, group, keep);
  }
  Tensor* attention_out = explanation ? &explanation->cluster_attention : nullptr;
  clusters = cluster_attention_ ? cluster_attention_->forward(clusters, attention_out)
                                : global_attention_->forward(clusters, attention_out);
  // Each token reads its cluster(s): the assignment-weighted mix, or its own group's vector.
  const Variable cluster_tokens = router_ ? matmul(assignments, clusters) : repeat_clusters(clusters, group);
  if (explanation) {
    if (router_) {
      explanation->assignments = assignments.data();
    } else {
      Tensor one_hot = Tensor::zeros({x.size(0), length, clusters_}, x.dtype());
      for (std::int64_t b = 0; b < x.size(0); ++b)
        for (std::int64_t i = 0; i < length; ++i) one_hot.set({b, i, i / group}, 1.0);
      explanation->assignments = one_hot;
    }
  }
  return feedback_ ? feedback_->forward(x, cluster_tokens) : broadcast_->forward(x, cluster_tokens);
}

std::string SwarmFormerLayer::describe() const { return fmt::format("SwarmFormerLayer(clusters={})", clusters_); }

SwarmFormer::SwarmFormer(const SwarmFormerConfig& config, std::uint64_t seed) : config_(config), seed_(seed) {
  config_.validate();
  inference_sub_batch_ = std::max<std::int64_t>(1, kInferenceSubBatchTokens / config_.seq_len);
  Generator init = Generator(seed).fork(0);
  noise_ = std::make_shared<Generator>(Generator(seed).fork(1));
  const BlockContext context{&config_, &init, noise_};
  const bool enhanced = config_.is_enhanced();

  embedding_ = register_module("embedding", std::make_shared<Container>("TokenEmbedding"));
  token_embedding_ = embedding_->register_module(
      "embed", std::make_shared<nn::Embedding>(nn::EmbeddingOptions{config_.vocab_size, config_.d_model}, init));
  if (enhanced && config_.position == "learned")
    position_embedding_ = register_parameter("position_embedding", normal({config_.seq_len, config_.d_model}, init, 0.0, 0.02));
  embedding_dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(config_.embedding_dropout, noise_));
  auto layer_list = register_module("layers", std::make_shared<Container>("ModuleList"));
  for (std::int64_t index = 0; index < config_.num_layers; ++index)
    layers_.push_back(layer_list->register_module(std::to_string(index), std::make_shared<SwarmFormerLayer>(context, index)));
  if (enhanced && config_.pre_layer_norm)
    final_norm_ = register_module("final_norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions{config_.d_model}));
  classifier_dropout_ =
      register_module("classifier_dropout", std::make_shared<nn::Dropout>(config_.classifier_dropout, noise_));
  classifier_ = register_module("classifier", std::make_shared<nn::Linear>(
                                                  nn::LinearOptions{config_.d_model, config_.num_classes}, init));
}

SwarmFormer::Encoded SwarmFormer::encode(const std::vector<std::int64_t>& ids, std::int64_t batch,
                                        std::vector<LayerExplanation>* explanations) {
  const std::int64_t length = config_.seq_len;
  check_batch_ids(ids, batch, length);
  Encoded encoded;
  if (config_.is_enhanced() && config_.mask_padding) {
    std::vector<double> mask(ids.size());
    for (std::size_t index = 0; index < ids.size(); ++index) mask[index] = ids[index] == config_.pad_id ? 0.0 : 1.0;
    encoded.keep = Tensor::from_vector(mask, {batch, length}, classifier_->weight.dtype());
  }
  Variable x = token_embedding_->forward(ids, {batch, length});
  if (position_embedding_.defined()) x = x + position_embedding_;
  x = embedding_dropout_->forward(x);
  const double temperature = config_.gumbel_temperature(training_step_);
  for (std::size_t index = 0; index < layers_.size(); ++index)
    x = layers_[index]->forward(x, encoded.keep, temperature, explanations ? &(*explanations)[index] : nullptr);
  if (final_norm_) x = final_norm_->forward(x);
  encoded.states = x;
  return encoded;
}

Variable SwarmFormer::pool(const Encoded& encoded) {
  const Variable& x = encoded.states;
  const Tensor& keep = encoded.keep;
  if (!keep.defined()) return mean(x, {1});
  // Mean over real tokens; a sequence of padding only pools to zero.
  Tensor counts = compute::maximum(compute::sum(keep, {1}, true), Tensor::scalar(1.0, keep.dtype()));
  return sum(x * Variable(keep.unsqueeze(-1)), {1}) / Variable(counts);
}

Variable SwarmFormer::run(const std::vector<std::int64_t>& ids, std::int64_t batch,
                          std::vector<LayerExplanation>* explanations) {
  const Variable pooled = pool(encode(ids, batch, explanations));
  return classifier_->forward(classifier_dropout_->forward(pooled));
}

void SwarmFormer::set_inference_sub_batch(std::int64_t sequences) {
  if (sequences < 0) fail("SwarmFormer: inference sub-batch of {} sequences (0 runs batches whole)", sequences);
  inference_sub_batch_ = sequences;
}

Variable SwarmFormer::forward(const std::vector<std::int64_t>& ids, std::int64_t batch) {
  if (grad_enabled() || is_training() || inference_sub_batch_ == 0 || batch <= inference_sub_batch_)
    return run(ids, batch, nullptr);
  return infer_in_sub_batches(ids, batch);
}

// Why it pays: a whole batch of 48 × 256 tokens makes every activation 6 MiB (d_model 128), so
// each op reads its input from memory and each GEMM packs A from there; a sub-batch of 512
// tokens makes them 256 KiB, and the next op finds them in L2. The classifier runs once on the
// pooled batch: its GEMM is below the packing threshold for a small sub-batch, and the direct
// loop there sums in another order, so running it per sub-batch would change the last bits.
Variable SwarmFormer::infer_in_sub_batches(const std::vector<std::int64_t>& ids, std::int64_t batch) {
  const std::int64_t length = config_.seq_len;
  check_batch_ids(ids, batch, length);
  const std::int64_t size = inference_sub_batch_, count = (batch + size - 1) / size;
  Tensor pooled = Tensor::empty({batch, config_.d_model}, classifier_->weight.dtype());
  parallel::parallel_for(0, count, 1, [&](std::int64_t first, std::int64_t last) {
    const NoGradGuard no_grad;          // grad mode is per thread
    const parallel::SerialScope serial;  // one sub-batch per task: its kernels stay on this thread
    for (std::int64_t index = first; index < last; ++index) {
      const std::int64_t begin = index * size, end = std::min(batch, begin + size);
      const std::vector<std::int64_t> part(ids.begin() + begin * length, ids.begin() + end * length);
      pooled.slice(0, begin, end).copy_from(pool(encode(part, end - begin)).data());
    }
  });
  return classifier_->forward(classifier_dropout_->forward(Variable(pooled)));
}

void SwarmFormer::add_masked_lm_head() {
  if (masked_lm_head_) return;
  Generator init = Generator(seed_).fork(2);
  masked_lm_head_ = register_module("mlm_head", std::make_shared<MaskedLanguageModelHead>(config_.d_model, config_.vocab_size, init));
  if (classifier_->weight.dtype() != masked_lm_head_->parameters().front().dtype()) masked_lm_head_->to(classifier_->weight.dtype());
}

Variable SwarmFormer::masked_lm_logits(const std::vector<std::int64_t>& ids, std::int64_t batch,
                                       const std::vector<std::int64_t>& positions) {
  SF_CHECK(masked_lm_head_ != nullptr, "SwarmFormer: masked_lm_logits needs add_masked_lm_head() first");
  return masked_lm_head_->forward(encode(ids, batch).states, positions, token_embedding_->weight);
}

std::vector<LayerExplanation> SwarmFormer::explain(const std::vector<std::int64_t>& ids, std::int64_t batch,
                                                   Tensor* logits) {
  const bool was_training = is_training();
  eval();
  NoGradGuard no_grad;
  std::vector<LayerExplanation> explanations(layers_.size());
  Variable output = run(ids, batch, &explanations);
  if (logits) *logits = output.data();
  train(was_training);
  return explanations;
}

std::string SwarmFormer::describe() const {
  return fmt::format("SwarmFormer(variant={}, d_model={}, seq_len={}, clusters={}, layers={})", config_.variant,
                     config_.d_model, config_.seq_len, config_.clusters(), config_.num_layers);
}

}  // namespace sf
