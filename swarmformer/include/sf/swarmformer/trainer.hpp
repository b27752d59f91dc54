// Training, evaluation and the run directory, for every task (training_task.hpp): classification
// (`train`) and masked-LM pretraining (`pretrain`).
//
// --init-from FILE (a fresh run only): every encoder parameter whose name is in FILE is loaded
// from it (shapes must match; an error lists every mismatch; a file of the other variant is
// refused); the task heads (classifier.*, mlm_head.*) and anything FILE lacks keep their initial
// values. The report records the file, its FNV-1a 64 hash, and the loaded, new and unused names.
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
#include "sf/swarmformer/training_config.hpp"

namespace sf {

struct TrainOptions {
  std::string config = "enhanced-small";  // preset name or JSON file
  std::vector<std::string> overrides;     // "key=value", model or training field
  std::string data;                       // dataset path (aclImdb dir/tar.gz, jsonl, csv)
  std::string vocab;                      // vocab.txt
  std::string out;                        // run directory
  std::string cache_dir;                  // tokenized cache (default: <out>/cache)
  bool resume = false;
  bool select_on_test = false;            // must be set for checkpoint_selection = "test"
  std::vector<std::string> extra_corpora; // pretrain: unlabelled corpora besides the dataset's own
  std::string init_from;                  // start from these weights (by name; e.g. a pretrained encoder)
  bool progress_bar = true;               // on a terminal; plain lines otherwise
};

struct TrainResult {
  nlohmann::json report;  // report.json's content (on rank 0): "test", "validation", the run's figures
  bool interrupted = false;
};

// Trains, picks the checkpoint with the best validation accuracy, evaluates it once on the
// test split, and writes the report. Returns early (interrupted = true) after a signal.
TrainResult train(const TrainOptions& options, Communicator& communicator);
// The same trainer on the masked-LM task: pretrains the encoder (plus the head "mlm_head.*") on
// the dataset's training and unlabelled texts and options.extra_corpora, never its test texts;
// the checkpoint with the best held-out masked-token accuracy is best.safetensors, which
// `train --init-from` reads.
TrainResult pretrain(const TrainOptions& options, Communicator& communicator);

}  // namespace sf
