// The training loop. See trainer.hpp for the run directory and the resume guarantee.
#include "sf/swarmformer/trainer.hpp"

#include "run_setup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "sf/autograd/functional.hpp"
#include "sf/core/compute.hpp"
#include "sf/core/matmul.hpp"
#include "sf/core/parallel.hpp"
#include "sf/nn/checkpoint.hpp"
#include "sf/nn/ema.hpp"
#include "sf/nn/lr_schedule.hpp"
#include "sf/nn/safetensors.hpp"
#include "sf/swarmformer/dataset.hpp"
#include "sf/swarmformer/distributed.hpp"
#include "sf/swarmformer/gradient_reducer.hpp"
#include "sf/swarmformer/hashing.hpp"
#include "sf/swarmformer/report.hpp"
#include "sf/swarmformer/training_step.hpp"

namespace sf {
namespace {

// metrics.jsonl: one JSON line per entry, appended with one write() each. A write that fails
// (a full disk) is an error naming the file, and the partial line is cut off again, so every
// line of the file stays a whole JSON object.
class MetricsLog {
 public:
  MetricsLog(std::string path, bool enabled) : path_(std::move(path)) {
    if (!enabled) return;
    descriptor_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (descriptor_ < 0) fail("cannot open {} for writing: {}", path_, std::strerror(errno));
  }
  ~MetricsLog() {
    if (descriptor_ >= 0) ::close(descriptor_);
  }
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void write(const nlohmann::json& entry) {
    if (descriptor_ < 0) return;
    const std::string line = entry.dump() + "\n";
    const off_t before = ::lseek(descriptor_, 0, SEEK_END);
    std::size_t written = 0;
    while (written < line.size()) {
      const ssize_t count = ::write(descriptor_, line.data() + written, line.size() - written);
      if (count < 0 && errno == EINTR) continue;
      if (count <= 0) {
        const std::string reason = std::strerror(count < 0 ? errno : ENOSPC);
        const bool cut = before >= 0 && ::ftruncate(descriptor_, before) == 0;
        fail("cannot write {}: {}{}", path_, reason, cut ? "" : " (a partial last line may remain)");
      }
      written += static_cast<std::size_t>(count);
    }
  }

 private:
  std::string path_;
  int descriptor_ = -1;
};

std::string format_duration(double seconds) {
  const auto total = static_cast<std::int64_t>(seconds);
  return total >= 3600 ? fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
                       : fmt::format("{:02}:{:02}", total / 60, total % 60);
}

}  // namespace

// Everything a run holds, in the order it is built.
struct Trainer::Run {
  Run(const TrainOptions& run_options, Communicator& run_communicator)
      : options(run_options),
        communicator(run_communicator),
        root(run_communicator.is_root()),
        last_path(run_options.out + "/last.safetensors"),
        best_path(run_options.out + "/best.safetensors"),
        resolved(detail::resolve_run_config(run_options, run_communicator.is_root() ? run_options.events.message : MessageSink{})),
        training(resolved.training),
        selection_split(training.selects_on_test() ? "test (chosen on test: published protocol)" : "validation") {}

  void message(const std::string& line) const {
    if (root) tell(options.events.message, line);
  }
  void check_parameters(const std::string& when) {
    if (communicator.size() == 1) return;
    if (const std::string mismatch = parameter_mismatch(communicator, parameters, when); !mismatch.empty())
      communicator.abort(mismatch);
  }
  void save_weights(const std::string& path, const TaskEvaluation& evaluation, std::int64_t epoch);
  void settle_stop();
  void log_step(const std::vector<double>& stats, double batch_loss, double gradient_norm, double seconds,
                std::int64_t global_count);

  const TrainOptions options;
  Communicator& communicator;
  const bool root;
  const std::string last_path, best_path;
  const ResolvedConfig resolved;
  std::string config_source;  // the preset or file the run was started from
  const TrainingConfig& training;
  const std::string selection_split;
  std::unique_ptr<TrainingTask> task;
  std::int64_t train_count = 0, steps_per_epoch = 0, total_steps = 0;
  std::unique_ptr<SwarmFormer> model;
  std::unique_ptr<compute::MatmulPrecisionGuard> arithmetic;
  nlohmann::json init_report = nullptr;
  std::unique_ptr<nn::AdamW> optimizer;
  std::unique_ptr<nn::ExponentialMovingAverage> average;
  std::unique_ptr<LRSchedule> schedule;
  std::vector<Variable> parameters;
  std::unique_ptr<GradientReducer> reducer;
  std::unique_ptr<MetricsLog> log;
  TrainingState state;
  bool stop = false, stopped_by_max_steps = false;
  std::vector<std::int64_t> order;  // the data order of epoch `order_epoch`
  std::int64_t order_epoch = -1;
  // The running window of the progress line and the train log entries.
  double window_loss = 0.0, window_correct = 0.0, window_units = 0.0, window_seconds = 0.0;
  std::int64_t window_tokens = 0;
};

// The weights alone (the averaged ones when kept), with what they were validated on.
void Trainer::Run::save_weights(const std::string& path, const TaskEvaluation& evaluation, std::int64_t epoch) {
  if (!root) return;
  nn::save_checkpoint(path, *model, nullptr,
                      {{"config", resolved.document},
                       {"task", task->name()},
                       {"epoch", epoch + 1},
                       {"step", state.step},
                       {"validation", evaluation.metrics},
                       {"checkpoint_chosen_on", selection_split},
                       {"class_names", task->class_names()}});
}

// Whether the run is over follows from its state and its (possibly resumed, changed) config:
// a run that finished its epochs continues when a resume raises `epochs`; one stopped by
// max_steps continues when it raises max_steps; early stopping stays.
void Trainer::Run::settle_stop() {
  const bool early_stopped = training.early_stopping_patience > 0 &&
                             state.evaluations_without_improvement >= training.early_stopping_patience;
  const bool at_max_steps = training.max_steps > 0 && state.step >= training.max_steps;
  stop = early_stopped || at_max_steps;
  stopped_by_max_steps = at_max_steps && !early_stopped && state.epoch < training.epochs;
  if (!state.finished) return;
  if (stop || state.epoch >= training.epochs)
    message(fmt::format("train: the run in {} had finished; re-evaluating its best checkpoint", options.out));
  else
    message(fmt::format("train: the run in {} had finished; it continues to epoch {}", options.out, training.epochs));
}

Trainer::Trainer(const TrainOptions& options, Communicator& communicator, const TaskFactory& make_task)
    : run_(std::make_unique<Run>(options, communicator)) {
  Run& run = *run_;
  run.config_source = options.config.empty() ? "enhanced-small" : options.config;  // a resume reads its own below
  if (run.root) std::filesystem::create_directories(options.out);
  if (run.root) write_file_atomically(options.out + "/config.json", run.resolved.document.dump(2) + "\n");

  // The task: its data, its loss, its evaluation.
  const TaskPaths paths{.data = options.data,
                        .vocab = options.vocab,
                        .cache_dir = options.cache_dir.empty() ? options.out + "/cache" : options.cache_dir,
                        .extra_corpora = options.extra_corpora};
  run.task = make_task(paths, run.resolved, communicator, run.root ? options.events.message : MessageSink{});
  run.train_count = run.task->train_size();
  run.steps_per_epoch = (run.train_count + run.training.batch_size - 1) / run.training.batch_size;
  run.total_steps = run.steps_per_epoch * run.training.epochs;
  if (run.steps_per_epoch == 0) fail("{}: no training data in {}", run.task->name(), options.data);

  // Model (with what the task adds), arithmetic, optimizer, schedule.
  run.model = std::make_unique<SwarmFormer>(run.resolved.model, static_cast<std::uint64_t>(run.training.seed));
  run.task->prepare(*run.model);
  if (run.training.precision == "fp64") run.model->to(DType::Float64);
  run.arithmetic = std::make_unique<compute::MatmulPrecisionGuard>(
      uses_bfloat16(run.training) ? compute::MatmulPrecision::Bfloat16 : compute::MatmulPrecision::Float32);
  if (!options.init_from.empty()) {
    if (options.resume) fail("train: --init-from starts a run; a resumed run continues from its own last.safetensors");
    run.init_report = detail::initialize_from(*run.model, options.init_from, run.root ? options.events.message : MessageSink{});
  }
  run.optimizer = make_optimizer(*run.model, run.training);
  if (run.training.ema_decay > 0.0)
    run.average = std::make_unique<nn::ExponentialMovingAverage>(*run.model, run.training.ema_decay);
  run.schedule = std::make_unique<LRSchedule>(make_schedule(run.training, run.total_steps));
  run.parameters = run.model->parameters();
  if (options.resume) {
    const nn::LoadedCheckpoint loaded =
        nn::load_checkpoint(run.last_path, *run.model, run.optimizer.get(), true, run.average.get());
    run.state = TrainingState::from_json(loaded.metadata.value("training_state", nlohmann::json()), run.last_path);
    run.config_source = loaded.metadata.value("config_source", std::string());
    const nlohmann::json noise = loaded.metadata.value("noise", nlohmann::json());
    run.model->noise_generator() =
        Generator(noise.at("seed").get<std::uint64_t>(), noise.at("offset").get<std::uint64_t>());
  } else {
    // Every rank starts from rank 0's weights (identical by construction; broadcast makes sure).
    std::vector<Tensor> values;
    for (const Variable& parameter : run.parameters) values.push_back(parameter.data());
    communicator.broadcast(values, 0);
  }
  // Data parallelism (MPI): gradients summed in buckets; the ranks' weights compared by checksum.
  run.reducer = std::make_unique<GradientReducer>(
      run.parameters, communicator,
      GradientReducerOptions{.bucket_bytes = static_cast<std::int64_t>(run.training.allreduce_bucket_mb * 1024.0 * 1024.0),
                               .overlap = run.training.allreduce_overlap});
  run.check_parameters(options.resume ? "after loading " + run.last_path : "after broadcasting the initial weights");
  run.log = std::make_unique<MetricsLog>(options.out + "/metrics.jsonl", run.root);
  run.settle_stop();
}

Trainer::~Trainer() = default;

const TrainingState& Trainer::state() const { return run_->state; }
SwarmFormer& Trainer::model() { return *run_->model; }
const ResolvedConfig& Trainer::config() const { return run_->resolved; }
bool Trainer::done() const { return run_->stop || run_->state.epoch >= run_->training.epochs; }

void Trainer::save() {
  Run& run = *run_;
  if (!run.root) return;
  const nlohmann::json metadata = {
      {"config", run.resolved.document},
      {"config_source", run.config_source},
      {"training_state", run.state.to_json()},
      {"noise", {{"seed", run.model->noise_generator().seed}, {"offset", run.model->noise_generator().offset}}},
      {"task", run.task->name()},
      {"data", run.task->data_description()},
      {"class_names", run.task->class_names()}};
  nn::save_checkpoint(run.last_path, *run.model, run.optimizer.get(), metadata, run.average.get());
}

double Trainer::validate(bool end_of_epoch) {
  Run& run = *run_;
  TrainingState& state = run.state;
  const std::int64_t epoch = state.epoch;
  if (run.average) run.average->swap();
  const TaskEvaluation validation = run.task->validate(*run.model);
  const double accuracy = validation.score;
  nlohmann::json entry = validation.metrics;
  entry["type"] = "validation";
  entry["split"] = run.selection_split;
  entry["epoch"] = epoch + 1;
  entry["step"] = state.step;
  run.log->write(entry);
  run.message(fmt::format("epoch {}: {} {} {:.2f}%, loss {:.4f}{}", epoch + 1, run.selection_split,
                          run.task->score_name(), 100.0 * accuracy, validation.loss,
                          accuracy > state.best_validation_accuracy ? " (best)" : ""));
  if (accuracy > state.best_validation_accuracy) {
    state.best_validation_accuracy = accuracy;
    state.best_epoch = epoch + 1;
    state.best_validation = validation.metrics;
    run.save_weights(run.best_path, validation, epoch);
  }
  if (end_of_epoch && run.training.keep_epoch_checkpoints)
    run.save_weights(fmt::format("{}/epoch-{}.safetensors", run.options.out, epoch + 1), validation, epoch);
  if (run.average) run.average->swap();
  // Patience: from early_stopping_min_epochs on, against the best score seen since then.
  if (epoch + 1 >= run.training.early_stopping_min_epochs) {
    if (accuracy > state.patience_best) {
      state.patience_best = accuracy;
      state.evaluations_without_improvement = 0;
    } else {
      ++state.evaluations_without_improvement;
    }
  }
  return accuracy;
}

bool Trainer::step() {
  Run& run = *run_;
  TrainingState& state = run.state;
  const TrainingConfig& training = run.training;
  Communicator& communicator = run.communicator;
  SwarmFormer& model = *run.model;
  if (done()) return true;
  if (run.order_epoch != state.epoch) {
    run.order = epoch_permutation(run.train_count, static_cast<std::uint64_t>(training.seed), state.epoch);
    run.order_epoch = state.epoch;
  }
  const auto started = std::chrono::steady_clock::now();
  const std::int64_t first = state.batch_in_epoch * training.batch_size;
  const std::int64_t global_count = std::min(training.batch_size, run.train_count - first);
  // This rank's share of the global batch.
  const std::int64_t local_first = first + global_count * communicator.rank() / communicator.size();
  const std::int64_t local_last = first + global_count * (communicator.rank() + 1) / communicator.size();
  std::vector<std::int64_t> rows(run.order.begin() + local_first, run.order.begin() + local_last);
  model.train();
  model.set_training_step(state.step);
  // Noise (dropout, Gumbel) by the row's place in the global batch: every rank reserves the whole
  // batch's counters and fills its own rows, so any number of ranks draws what one process draws.
  Generator& noise = model.noise_generator();
  const std::uint64_t noise_start = noise.offset;
  if (!rows.empty()) noise.shard = {.rows = global_count, .first = local_first - first, .local = local_last - local_first};
  run.reducer->begin_step();
  const StepOutcome outcome = run.task->step(model, rows, global_count, state.epoch, run.reducer->hook());
  noise.shard = {};
  // loss sum, correct, stop requests, noise counters, units (examples or masked tokens), ranks with rows
  std::vector<double> stats{outcome.loss_sum, outcome.correct, 0.0, 0.0, outcome.units, rows.empty() ? 0.0 : 1.0};
  stats[2] = run.options.events.stop_requested && run.options.events.stop_requested() ? 1.0 : 0.0;
  stats[3] = static_cast<double>(noise.offset - noise_start);
  run.reducer->finish_step();
  communicator.allreduce_sum(stats);
  // Ranks with rows advanced by the same count; a rank with an empty share catches up.
  if (communicator.size() > 1 && stats[5] > 0.0)
    noise.offset = noise_start + static_cast<std::uint64_t>(stats[3] / stats[5]);
  const double batch_loss = stats[4] > 0.0 ? stats[0] / stats[4] : 0.0;
  const UpdateOutcome update = apply_update(run.parameters, *run.optimizer, *run.schedule, state.step,
                                            training.gradient_clip, batch_loss, run.average.get());
  if (!update.applied) {
    // A non-finite loss or gradient never reaches the weights.
    ++state.nonfinite_in_row;
    ++state.nonfinite_total;
    run.message(fmt::format("step {}: non-finite {} (loss {}, gradient norm {}); step skipped ({} in a row)", state.step,
                            std::isfinite(batch_loss) ? "gradient" : "loss", batch_loss, update.gradient_norm,
                            state.nonfinite_in_row));
    if (state.nonfinite_in_row >= training.max_nonfinite_steps)
      fail("train: {} consecutive steps with a non-finite loss or gradient (last at step {}); stopping. The last good "
           "checkpoint is {}; try a lower learning_rate",
           state.nonfinite_in_row, state.step, run.last_path);
  } else {
    state.nonfinite_in_row = 0;
  }
  ++state.step;
  ++state.batch_in_epoch;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  state.elapsed_seconds += seconds;
  state.tokens_seen += global_count * run.resolved.model.seq_len;
  run.log_step(stats, batch_loss, update.gradient_norm, seconds, global_count);
  return end_step(stats[2] != 0.0);
}

// The progress line after every step; the train entry of metrics.jsonl every log_every steps.
void Trainer::Run::log_step(const std::vector<double>& stats, double batch_loss, double gradient_norm, double seconds,
                            std::int64_t global_count) {
  const std::int64_t tokens = global_count * resolved.model.seq_len;
  window_loss += stats[0];
  window_correct += stats[1];
  window_units += stats[4];
  window_seconds += seconds;
  window_tokens += tokens;
  const bool log_now = state.step % training.log_every == 0 || state.batch_in_epoch == steps_per_epoch;
  const double tokens_per_second = window_seconds > 0 ? static_cast<double>(window_tokens) / window_seconds : 0.0;
  const double remaining_steps = static_cast<double>(total_steps - state.step);
  if (root && options.events.progress) {
    const std::string text = fmt::format(
        "epoch {}/{} step {}/{} loss {:.4f} acc {:.1f}% {:.0f} tok/s ETA {}", state.epoch + 1, training.epochs,
        state.batch_in_epoch, steps_per_epoch, window_loss / window_units, 100.0 * window_correct / window_units,
        tokens_per_second, format_duration(remaining_steps * static_cast<double>(tokens) / std::max(tokens_per_second, 1.0)));
    options.events.progress(text, static_cast<double>(state.batch_in_epoch) / static_cast<double>(steps_per_epoch), log_now);
  }
  if (log_now) {
    log->write({{"type", "train"}, {"epoch", state.epoch + 1}, {"step", state.step}, {"loss", window_loss / window_units},
                {"last_loss", batch_loss}, {"accuracy", window_correct / window_units},
                {"learning_rate", optimizer->learning_rate()}, {"gradient_norm", gradient_norm},
                {"tokens_per_second", tokens_per_second}});
    window_loss = window_correct = window_units = window_seconds = 0.0;
    window_tokens = 0;
  }
}

// After a step: the checks, evaluations and checkpoints its number calls for, a stop request,
// max_steps, and at an epoch's end its evaluation, patience and last.safetensors.
bool Trainer::end_step(bool stop_requested) {
  Run& run = *run_;
  TrainingState& state = run.state;
  const TrainingConfig& training = run.training;
  if (training.check_parameters_every > 0 && state.step % training.check_parameters_every == 0)
    run.check_parameters(fmt::format("at step {}", state.step));
  const bool epoch_end = state.batch_in_epoch >= run.steps_per_epoch;
  if (training.eval_every_steps > 0 && state.step % training.eval_every_steps == 0 && !epoch_end)
    validate(false);  // the epoch's end validates anyway
  if (training.checkpoint_every_steps > 0 && state.step % training.checkpoint_every_steps == 0) save();
  if (stop_requested) {
    save();
    run.message(fmt::format("train: interrupted at step {}; saved {}. Continue with: swarmformer train --out {} --resume",
                            state.step, run.last_path, run.options.out));
    return false;
  }
  if (training.max_steps > 0 && state.step >= training.max_steps) run.stop = run.stopped_by_max_steps = true;
  if (epoch_end) {
    validate(true);
    ++state.epoch;
    state.batch_in_epoch = 0;
    if (training.early_stopping_patience > 0 && state.evaluations_without_improvement >= training.early_stopping_patience) {
      run.message(fmt::format("early stopping: no better {} accuracy for {} evaluations", run.selection_split,
                              state.evaluations_without_improvement));
      run.stop = true;
    }
    save();
  } else if (run.stop) {
    save();
  }
  return true;
}

TrainResult Trainer::finish() {
  Run& run = *run_;
  TrainingState& state = run.state;
  state.finished = !run.stopped_by_max_steps;
  // A run that ends before its first evaluation (max_steps below an epoch, also when a resume
  // lowers it) is evaluated now, so that best.safetensors and the report exist.
  if (state.best_epoch < 0) validate(false);
  save();

  // The task's last word (classification: the test split, once) with the chosen checkpoint.
  // Only rank 0 writes (and so can be sure to see) best.safetensors; the others get its weights.
  if (run.root) nn::load_checkpoint(run.best_path, *run.model, nullptr);
  std::vector<Tensor> best_values;
  for (const Variable& parameter : run.parameters) best_values.push_back(parameter.data());
  run.communicator.broadcast(best_values, 0);
  const nlohmann::json final_evaluation = run.task->finish(*run.model);
  TrainResult result;
  if (!run.root) return result;
  const TrainingConfig& training = run.training;
  const bool plotted = run.options.events.plot &&
                       run.options.events.plot(run.options.out, training.selects_on_test() ? "test (chosen on test)" : "validation");
  nlohmann::json report = {
      {"task", run.task->name()},
      {"score_name", run.task->score_name()},
      {"validation", state.best_validation},
      {"checkpoint_chosen_on", training.selects_on_test() ? "test (published protocol)" : "validation"},
      {"best_epoch", state.best_epoch},
      {"steps", state.step},
      {"parameters", run.model->parameter_count()},
      {"wall_time_seconds", state.elapsed_seconds},
      {"tokens_per_second", state.elapsed_seconds > 0 ? static_cast<double>(state.tokens_seen) / state.elapsed_seconds : 0.0},
      {"peak_rss_mb", peak_rss_megabytes()},
      {"parallelism", fmt::format("{} x {} threads", run.communicator.describe(), parallel::num_threads())},
      {"arithmetic", arithmetic_description(training)},
      {"nonfinite_steps_skipped", state.nonfinite_total},
      {"config", run.resolved.document},
      {"init_from", run.init_report},
      {"data", run.task->data_description()},
      {"git_commit", build_git_commit()},
      {"curves", plotted ? "curves.png" : ""}};
  for (const auto& [key, value] : final_evaluation.items()) report[key] = value;
  write_report(run.options.out, report);
  result.report = report;
  return result;
}

TrainResult Trainer::run() {
  while (!done())
    if (!step()) return TrainResult{.report = nullptr, .interrupted = true};
  return finish();
}

namespace {

TrainResult run_guarded(const TrainOptions& options, Communicator& communicator, const TaskFactory& make_task) {
  if (communicator.size() == 1) return Trainer(options, communicator, make_task).run();
  // Under MPI an error on one rank must not leave the others waiting in a collective: it aborts
  // the whole job, naming the rank. Checkpoint writes are atomic, so last.safetensors stays valid.
  try {
    return Trainer(options, communicator, make_task).run();
  } catch (const std::exception& error) {
    communicator.abort(error.what());
    throw;  // not reached: abort ends the process
  }
}

}  // namespace

TrainResult train(const TrainOptions& options, Communicator& communicator) {
  return run_guarded(options, communicator,
                     [](const TaskPaths& paths, const ResolvedConfig& resolved, Communicator& comm, const MessageSink& messages) {
                       return make_classification_task(paths, resolved.model, resolved.training, comm, messages);
                     });
}

TrainResult pretrain(const TrainOptions& options, Communicator& communicator) {
  if (options.select_on_test) fail("pretrain: --select-on-test has no meaning here (pretraining never sees the test split)");
  return run_guarded(options, communicator,
                     [](const TaskPaths& paths, const ResolvedConfig& resolved, Communicator& comm, const MessageSink& messages) {
                       if (resolved.training.selects_on_test())
                         fail("pretrain: checkpoint_selection must be \"validation\" (pretraining never sees the test split)");
                       return make_masked_lm_task(paths, resolved.model, resolved.training, comm, messages);
                     });
}

}  // namespace sf
