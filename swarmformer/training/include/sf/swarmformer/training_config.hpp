// TrainingConfig: every field of the trainer, each documented once in visit_fields_training (the
// single list JSON reading, writing and `info` use), and the resolution of a config document
// plus "key=value" overrides into the model and training sections.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sf/swarmformer/config.hpp"

namespace sf {

struct TrainingConfig {
  std::int64_t batch_size = 48;
  std::int64_t epochs = 8;
  double learning_rate = 5e-4;
  double weight_decay = 0.04;
  double warmup_fraction = 0.05;
  std::string schedule = "warmup_cosine";
  double minimum_learning_rate = 0.0;
  double gradient_clip = 1.0;
  double label_smoothing = 0.0;
  std::int64_t early_stopping_patience = 3;
  double validation_fraction = 0.1;
  std::int64_t seed = 42;
  std::int64_t max_train_examples = 0;
  std::int64_t max_eval_examples = 0;
  std::int64_t eval_batch_size = 128;
  std::int64_t log_every = 50;
  std::int64_t checkpoint_every_steps = 0;
  std::int64_t eval_every_steps = 0;
  std::int64_t max_nonfinite_steps = 5;
  std::int64_t max_steps = 0;
  bool keep_epoch_checkpoints = false;
  // Data-parallel training (MPI; ignored on one process), docs/distributed.md.
  double allreduce_bucket_mb = 4.0;
  bool allreduce_overlap = true;
  std::int64_t check_parameters_every = 100;
  // Checkpoint selection, regularisation and the data transforms.
  std::string checkpoint_selection = "validation";
  std::int64_t early_stopping_min_epochs = 0;
  std::string weight_decay_scope = "matrices";
  double ema_decay = 0.0;
  std::string precision = "fp32";
  std::string augment;
  double augment_synonym_word_probability = 0.1;
  std::string wordnet_dir = "/usr/share/wordnet";
  // Self-pretraining (`swarmformer pretrain`).
  double mask_fraction = 0.15;
  std::int64_t pretrain_windows = 4;

  bool selects_on_test() const { return checkpoint_selection == "test"; }

  void validate(const std::string& source = "training") const;
  nlohmann::json to_json() const;
  static TrainingConfig from_json(const nlohmann::json& json, const std::string& source = "training");
};

template <class Config, class Visitor>
void visit_fields_training(Config& config, Visitor&& visitor) {
  visitor("batch_size", config.batch_size, "global batch size (split over MPI ranks)");
  visitor("epochs", config.epochs, "passes over the training split");
  visitor("learning_rate", config.learning_rate, "peak AdamW learning rate");
  visitor("weight_decay", config.weight_decay, "AdamW decoupled weight decay (not on biases, norms, embeddings)");
  visitor("warmup_fraction", config.warmup_fraction, "fraction of all steps spent in linear warmup");
  visitor("schedule", config.schedule, "learning-rate decay after warmup: warmup_cosine, linear, constant");
  visitor("minimum_learning_rate", config.minimum_learning_rate, "the floor the decay ends at");
  visitor("gradient_clip", config.gradient_clip, "global gradient-norm clip (0: off)");
  visitor("label_smoothing", config.label_smoothing, "cross-entropy label smoothing");
  visitor("early_stopping_patience", config.early_stopping_patience,
          "stop after this many evaluations without a better validation accuracy (0: never)");
  visitor("validation_fraction", config.validation_fraction, "share of train carved out for validation (stratified)");
  visitor("seed", config.seed, "seed of the weights, the data order, the split and all noise");
  visitor("max_train_examples", config.max_train_examples, "use only this many training examples (0: all)");
  visitor("max_eval_examples", config.max_eval_examples, "evaluate on at most this many examples (0: all)");
  visitor("eval_batch_size", config.eval_batch_size, "batch size of evaluation");
  visitor("log_every", config.log_every, "steps between metrics.jsonl lines and plain progress lines");
  visitor("checkpoint_every_steps", config.checkpoint_every_steps, "also write last.safetensors every N steps (0: per epoch)");
  visitor("keep_epoch_checkpoints", config.keep_epoch_checkpoints,
          "also write epoch-N.safetensors (the weights validated at the end of epoch N) after every epoch, e.g. to "
          "fine-tune from several points of a pretraining run");
  visitor("eval_every_steps", config.eval_every_steps,
          "also validate (and keep the best checkpoint) every N steps within an epoch (0: only at the end of each epoch)");
  visitor("max_nonfinite_steps", config.max_nonfinite_steps,
          "stop with an error after this many consecutive steps with a non-finite loss or gradient");
  visitor("max_steps", config.max_steps, "stop after this many optimizer steps in total (0: no limit)");
  visitor("allreduce_bucket_mb", config.allreduce_bucket_mb,
          "MPI: gradients are summed in flat buckets of this many MiB (0: one bucket per parameter)");
  visitor("allreduce_overlap", config.allreduce_overlap,
          "MPI: start each bucket's non-blocking allreduce during backward (false: blocking, after backward)");
  visitor("check_parameters_every", config.check_parameters_every,
          "MPI: compare a checksum of the parameters across ranks every N steps, stop on a mismatch (0: never)");
  visitor("checkpoint_selection", config.checkpoint_selection,
          "\"validation\" (a split carved out of train chooses the checkpoint) or \"test\" (the published SwarmFormer "
          "protocol: all of train is trained on and the test split chooses; also needs the command-line flag "
          "--select-on-test, and every report says \"chosen on test\")");
  visitor("early_stopping_min_epochs", config.early_stopping_min_epochs,
          "patience counts only from this epoch on: earlier evaluations neither count as misses nor set the score to "
          "beat (the released SwarmFormer training: 6)");
  visitor("weight_decay_scope", config.weight_decay_scope,
          "\"matrices\" (weights of rank >= 2 except embeddings) or \"all\" (every parameter, as torch.optim.AdamW)");
  visitor("ema_decay", config.ema_decay,
          "exponential moving average of the weights, e <- d e + (1 - d) w after every step; validation, the best "
          "checkpoint and test use it (0: off)");
  visitor("precision", config.precision,
          "arithmetic: fp32; fp64 (model and optimizer in float64: checks, parity); bf16 (float32 weights, every "
          "matrix product's operands rounded to bfloat16, float32 sums); auto (bf16 where the CPU has AVX512-BF16, "
          "else fp32)");
  visitor("augment", config.augment,
          "training-split transforms, e.g. \"sentence_shuffle:0.3,synonym_swap:0.3,concatenate:0.25\" (augment.hpp; "
          "empty: none)");
  visitor("augment_synonym_word_probability", config.augment_synonym_word_probability,
          "synonym_swap: the chance of each word being replaced");
  visitor("wordnet_dir", config.wordnet_dir, "synonym_swap: the WordNet 3.0 database folder (Debian wordnet-base)");
  visitor("mask_fraction", config.mask_fraction,
          "pretrain: share of the real tokens chosen for masked-LM prediction (80% [MASK], 10% random, 10% kept)");
  visitor("pretrain_windows", config.pretrain_windows,
          "pretrain: a text longer than seq_len - 2 pieces gives up to this many windows, each a training row");
}

// Whether a precision name ("bf16", or "auto" on a CPU with bfloat16 dot products) rounds the
// matrix products' operands to bfloat16; the second form reads a config's `precision`.
bool uses_bfloat16(const std::string& precision);
bool uses_bfloat16(const TrainingConfig& training);
// The arithmetic a run with this config does, for reports: "float32", "float64", or
// "bfloat16 products (PATH), float32 elsewhere".
std::string arithmetic_description(const TrainingConfig& training);

// Resolves a config document and "key=value" overrides into the two sections.
struct ResolvedConfig {
  SwarmFormerConfig model;
  TrainingConfig training;
  nlohmann::json document;
};
ResolvedConfig resolve_config(const std::string& preset_or_path, const std::vector<std::string>& overrides);

}  // namespace sf
