// Training, evaluation and the run directory.
//
// A run directory holds:
//   last.safetensors    model + optimizer + the full training state (step, epoch, batch cursor,
//                       noise generator, best score, counters): written every epoch, every
//                       checkpoint_every_steps, and on SIGINT/SIGTERM; `--resume` continues from it
//   best.safetensors    the model with the best validation accuracy so far (chosen on validation,
//                       never on test)
//   metrics.jsonl       one JSON object per logged step and per evaluation
//   curves.png          loss and accuracy curves (gnuplot), report.json, report.md
//   config.json         the resolved config document
// Resuming replays the same data order and noise, so the losses after a resume equal those of
// an uninterrupted run, bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sf/swarmformer/communicator.hpp"
#include "sf/swarmformer/config.hpp"
#include "sf/swarmformer/metrics.hpp"
#include "sf/swarmformer/model.hpp"

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
  std::int64_t max_nonfinite_steps = 5;
  std::int64_t max_steps = 0;
  // Data-parallel training (MPI; ignored on one process), docs/distributed.md.
  double allreduce_bucket_mb = 4.0;
  bool allreduce_overlap = true;
  std::int64_t check_parameters_every = 100;

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
  visitor("max_nonfinite_steps", config.max_nonfinite_steps,
          "stop with an error after this many consecutive steps with a non-finite loss or gradient");
  visitor("max_steps", config.max_steps, "stop after this many optimizer steps in total (0: no limit)");
  visitor("allreduce_bucket_mb", config.allreduce_bucket_mb,
          "MPI: gradients are summed in flat buckets of this many MiB (0: one bucket per parameter)");
  visitor("allreduce_overlap", config.allreduce_overlap,
          "MPI: start each bucket's non-blocking allreduce during backward (false: blocking, after backward)");
  visitor("check_parameters_every", config.check_parameters_every,
          "MPI: compare a checksum of the parameters across ranks every N steps, stop on a mismatch (0: never)");
}

struct TrainOptions {
  std::string config = "enhanced-small";  // preset name or JSON file
  std::vector<std::string> overrides;     // "key=value", model or training field
  std::string data;                       // dataset path (aclImdb dir/tar.gz, jsonl, csv)
  std::string vocab;                      // vocab.txt
  std::string out;                        // run directory
  std::string cache_dir;                  // tokenized cache (default: <out>/cache)
  bool resume = false;
  bool progress_bar = true;               // on a terminal; plain lines otherwise
};

struct TrainResult {
  ClassificationMetrics validation;  // best validation
  ClassificationMetrics test;
  nlohmann::json report;
  bool interrupted = false;
};

// Trains, picks the checkpoint with the best validation accuracy, evaluates it once on the
// test split, and writes the report. Returns early (interrupted = true) after a signal.
TrainResult train(const TrainOptions& options, Communicator& communicator);

// Resolves a config document and "key=value" overrides into the two sections.
struct ResolvedConfig {
  SwarmFormerConfig model;
  TrainingConfig training;
  nlohmann::json document;
};
ResolvedConfig resolve_config(const std::string& preset_or_path, const std::vector<std::string>& overrides);

}  // namespace sf
