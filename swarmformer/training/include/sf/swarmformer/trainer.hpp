// Training, evaluation and the run directory, for every task (training_task.hpp): classification
// (`train`) and masked-LM pretraining (`pretrain`).
//
// --init-from FILE (a fresh run only): every encoder parameter whose name is in FILE is loaded
// from it (shapes must match; an error lists every mismatch; a file of the other variant is
// refused); the task heads (classifier.*, mlm_head.*) and anything FILE lacks keep their initial
// values. The report records the file, its FNV-1a 64 hash, and the loaded, new and unused names.
//
// A run directory holds:
//   last.safetensors    model + optimizer + the full training state (training_state.hpp):
//                       written every epoch, every checkpoint_every_steps, and when the app asks
//                       the run to stop; `--resume` continues from it
//   best.safetensors    the model with the best validation accuracy so far (chosen on validation,
//                       never on test); a run that ends before its first evaluation (max_steps)
//                       is evaluated once at its end, so it always has one
//   metrics.jsonl       one JSON object per logged step and per evaluation
//   curves.png          loss and accuracy curves (when the app draws them), report.json, report.md
//   config.json         the resolved config document
// Resuming replays the same data order and noise, so the losses after a resume equal those of
// an uninterrupted run, bit for bit. A resume continues the run as it was started: the same data
// and vocabulary (else refused, naming them), its own config.json, which --set may change only in
// the fields that decide when the run ends, logs, evaluates and saves (epochs, max_steps,
// log_every, eval_every_steps, checkpoint_every_steps, …: each change is told as a message); any
// other field is refused with its name, as it would change what the steps compute.
//
// The library prints nothing and installs no signal handler: TrainingEvents carries what the app
// wants to show (messages, progress, the curves) and when it wants the run to stop (the command
// line asks on SIGINT / SIGTERM). With no events a run is silent and runs to its end.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sf/swarmformer/communicator.hpp"
#include "sf/swarmformer/messages.hpp"
#include "sf/swarmformer/model.hpp"
#include "sf/swarmformer/training_config.hpp"
#include "sf/swarmformer/training_state.hpp"
#include "sf/swarmformer/training_task.hpp"

namespace sf {

// What the app hears from a run, and how it ends one early. Every member may be empty; only rank
// 0 gets message, progress and plot; every rank is asked stop_requested.
struct TrainingEvents {
  // A line for people: the data loaded, each evaluation, early stopping, a skipped step, a stop.
  MessageSink message;
  // After every step: "epoch E/N step S/T loss … acc … tok/s ETA …", the fraction of the epoch
  // done, and whether it is a logged step (every log_every steps and an epoch's last).
  std::function<void(const std::string& text, double epoch_fraction, bool logged)> progress;
  // Polled after every step; true saves last.safetensors and ends the run as interrupted (under
  // MPI, one rank's request stops every rank at the same step).
  std::function<bool()> stop_requested;
  // Draws run_dir/curves.png from metrics.jsonl (report.hpp's plot_curves does); returns whether it
  // did. The curves of the selection split are labelled `selection_label`.
  std::function<bool(const std::string& run_dir, const std::string& selection_label)> plot;
};

struct TrainOptions {
  std::string config;                     // preset name or JSON file (empty: enhanced-small; on resume the run's own)
  std::vector<std::string> overrides;     // "key=value", model or training field
  std::string data;                       // dataset path (aclImdb dir/tar.gz, jsonl, csv)
  std::string vocab;                      // vocab.txt
  std::string out;                        // run directory
  std::string cache_dir;                  // tokenized cache (default: <out>/cache)
  bool resume = false;
  bool select_on_test = false;            // must be set for checkpoint_selection = "test"
  std::vector<std::string> extra_corpora; // pretrain: unlabelled corpora besides the dataset's own
  std::string init_from;                  // start from these weights (by name; e.g. a pretrained encoder)
  TrainingEvents events;
};

struct TrainResult {
  nlohmann::json report;  // report.json's content (on rank 0): "test", "validation", the run's figures
  bool interrupted = false;
};

// The task a run learns, built once the config is resolved (messages: rank 0's sink, else empty).
using TaskFactory = std::function<std::unique_ptr<TrainingTask>(const TaskPaths& paths, const ResolvedConfig& resolved,
                                                                Communicator& communicator,
                                                                const MessageSink& messages)>;

// One run, in the pieces a program can drive itself; run() is the loop `train` uses:
//   while (!trainer.done()) if (!trainer.step()) return {.interrupted = true};
//   return trainer.finish();
class Trainer {
 public:
  // Resolves the config (on resume, the run's own config.json plus `overrides`), builds the task
  // (loading its data), the model, optimizer and schedule, and on resume loads last.safetensors.
  Trainer(const TrainOptions& options, Communicator& communicator, const TaskFactory& make_task);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  TrainResult run();
  // True once the epochs are done, max_steps is reached or early stopping has ended the run.
  bool done() const;
  // One global batch: forward, backward, the reduction over ranks, the update, the log line; at the
  // end of an epoch its evaluation, patience and last.safetensors. Returns false when the app
  // asked to stop (last.safetensors is then saved, and the run can be resumed).
  bool step();
  // Evaluates on the selection split (with the averaged weights when kept), logs it, and writes
  // best.safetensors when it is the best so far. Returns the score.
  double validate(bool end_of_epoch);
  void save();  // last.safetensors (rank 0)
  // The end: best.safetensors loaded (on every rank), the task's final evaluation (classification:
  // the test split, once), the curves and report.json / report.md.
  TrainResult finish();

  const TrainingState& state() const;
  SwarmFormer& model();
  const ResolvedConfig& config() const;

 private:
  bool end_step(bool stop_requested);
  struct Run;
  std::unique_ptr<Run> run_;
};

// Trains, picks the checkpoint with the best validation accuracy, evaluates it once on the
// test split, and writes the report. Returns early (interrupted = true) when the app asked to stop.
TrainResult train(const TrainOptions& options, Communicator& communicator);
// The same trainer on the masked-LM task: pretrains the encoder (plus the head "mlm_head.*") on
// the dataset's training and unlabelled texts and options.extra_corpora, never its test texts;
// the checkpoint with the best held-out masked-token accuracy is best.safetensors, which
// `train --init-from` reads.
TrainResult pretrain(const TrainOptions& options, Communicator& communicator);

}  // namespace sf
