// The training loop. See trainer.hpp for the run directory and the resume guarantee.
#include "sf/swarmformer/trainer.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "sf/autograd/functional.hpp"
#include "sf/core/compute.hpp"
#include "sf/core/parallel.hpp"
#include "sf/nn/checkpoint.hpp"
#include "sf/nn/ema.hpp"
#include "sf/nn/lr_schedule.hpp"
#include "sf/swarmformer/dataset.hpp"
#include "sf/swarmformer/distributed.hpp"
#include "sf/swarmformer/evaluation.hpp"
#include "sf/swarmformer/gradient_reducer.hpp"
#include "sf/swarmformer/report.hpp"
#include "sf/swarmformer/tokenizer.hpp"
#include "sf/swarmformer/training_data.hpp"
#include "sf/swarmformer/training_step.hpp"

namespace sf {
namespace {

std::atomic<int> received_signal{0};
extern "C" void on_stop_signal(int signal_number) { received_signal.store(signal_number); }

// Counters that make a resumed run continue exactly where the last one stopped.
struct TrainingState {
  std::int64_t step = 0;            // batches processed (the LR schedule's clock)
  std::int64_t epoch = 0;           // current epoch (0-based)
  std::int64_t batch_in_epoch = 0;  // next batch of the current epoch
  double best_validation_accuracy = -1.0;
  std::int64_t best_epoch = -1;
  std::int64_t evaluations_without_improvement = 0;
  double patience_best = -1.0;      // the score patience compares with (from early_stopping_min_epochs on)
  std::int64_t nonfinite_in_row = 0;
  std::int64_t nonfinite_total = 0;
  double elapsed_seconds = 0.0;
  std::int64_t tokens_seen = 0;
  bool finished = false;
  nlohmann::json best_validation = nullptr;

  nlohmann::json to_json() const {
    return {{"step", step}, {"epoch", epoch}, {"batch_in_epoch", batch_in_epoch},
            {"best_validation_accuracy", best_validation_accuracy}, {"best_epoch", best_epoch},
            {"evaluations_without_improvement", evaluations_without_improvement}, {"patience_best", patience_best},
            {"nonfinite_in_row", nonfinite_in_row}, {"nonfinite_total", nonfinite_total},
            {"elapsed_seconds", elapsed_seconds}, {"tokens_seen", tokens_seen}, {"finished", finished},
            {"best_validation", best_validation}};
  }
  static TrainingState from_json(const nlohmann::json& json, const std::string& source) {
    try {
      TrainingState state;
      state.step = json.at("step");
      state.epoch = json.at("epoch");
      state.batch_in_epoch = json.at("batch_in_epoch");
      state.best_validation_accuracy = json.at("best_validation_accuracy");
      state.best_epoch = json.at("best_epoch");
      state.evaluations_without_improvement = json.at("evaluations_without_improvement");
      state.patience_best = json.value("patience_best", state.best_validation_accuracy);
      state.nonfinite_in_row = json.at("nonfinite_in_row");
      state.nonfinite_total = json.at("nonfinite_total");
      state.elapsed_seconds = json.at("elapsed_seconds");
      state.tokens_seen = json.at("tokens_seen");
      state.finished = json.at("finished");
      state.best_validation = json.at("best_validation");
      return state;
    } catch (const nlohmann::json::exception& error) {
      fail("{}: the training state in the checkpoint is incomplete: {}", source, error.what());
    }
  }
};

class MetricsLog {
 public:
  MetricsLog(const std::string& path, bool enabled) : enabled_(enabled) {
    if (enabled_) {
      stream_.open(path, std::ios::app);
      if (!stream_) fail("cannot open {} for writing", path);
    }
  }
  void write(const nlohmann::json& entry) {
    if (!enabled_) return;
    stream_ << entry.dump() << '\n';
    stream_.flush();
  }

 private:
  bool enabled_;
  std::ofstream stream_;
};

std::string format_duration(double seconds) {
  const auto total = static_cast<std::int64_t>(seconds);
  return total >= 3600 ? fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
                       : fmt::format("{:02}:{:02}", total / 60, total % 60);
}

TrainResult run_training(const TrainOptions& options, Communicator& communicator) {
  const bool root = communicator.is_root();
  namespace fs = std::filesystem;
  if (options.out.empty()) fail("train: --out RUN_DIR is required");
  const std::string last_path = options.out + "/last.safetensors", best_path = options.out + "/best.safetensors";
  if (options.resume && !fs::exists(last_path))
    fail("train --resume: {} does not exist (nothing to resume in {})", last_path, options.out);
  if (!options.resume && fs::exists(last_path))
    fail("train: {} already holds a run; pass --resume to continue it, or choose a new --out", options.out);
  if (root) fs::create_directories(options.out);

  // Config: on resume, the run's own config (plus any --set overrides).
  ResolvedConfig resolved = options.resume ? resolve_config(options.out + "/config.json", options.overrides)
                                           : resolve_config(options.config, options.overrides);
  const SwarmFormerConfig& model_config = resolved.model;
  const TrainingConfig& training = resolved.training;
  if (training.selects_on_test() && !options.select_on_test)
    fail("train: the config chooses the checkpoint on the test split (checkpoint_selection = \"test\", the published "
         "SwarmFormer protocol), which makes the test accuracy optimistic; pass --select-on-test to confirm that this "
         "is what you want");
  if (!training.selects_on_test() && options.select_on_test)
    fail("train: --select-on-test was given, but the config chooses on validation; set checkpoint_selection=test too "
         "(both are needed, so that neither happens by accident)");
  const std::string selection_split = training.selects_on_test() ? "test (chosen on test: published protocol)" : "validation";
  if (root) write_file_atomically(options.out + "/config.json", resolved.document.dump(2) + "\n");

  // Data.
  const TrainingData data = load_training_data(options.data, options.vocab, model_config, training,
                                               options.cache_dir.empty() ? options.out + "/cache" : options.cache_dir, root);
  const auto train_count = static_cast<std::int64_t>(data.train.labels.size());
  const std::int64_t steps_per_epoch = (train_count + training.batch_size - 1) / training.batch_size;
  const std::int64_t total_steps = steps_per_epoch * training.epochs;
  if (steps_per_epoch == 0) fail("train: the training split of {} is empty", options.data);

  // Model, optimizer, schedule.
  SwarmFormer model(model_config, static_cast<std::uint64_t>(training.seed));
  if (training.precision == "fp64") model.to(DType::Float64);
  const std::unique_ptr<nn::AdamW> optimizer_owner = make_optimizer(model, training);
  nn::AdamW& optimizer = *optimizer_owner;
  std::unique_ptr<nn::ExponentialMovingAverage> average;
  if (training.ema_decay > 0.0) average = std::make_unique<nn::ExponentialMovingAverage>(model, training.ema_decay);
  const LRSchedule schedule = make_schedule(training, total_steps);
  const std::vector<Variable> parameters = model.parameters();
  TrainingState state;
  if (options.resume) {
    const nn::LoadedCheckpoint loaded = nn::load_checkpoint(last_path, model, &optimizer, true, average.get());
    state = TrainingState::from_json(loaded.metadata.value("training_state", nlohmann::json()), last_path);
    const nlohmann::json noise = loaded.metadata.value("noise", nlohmann::json());
    model.noise_generator() = Generator(noise.at("seed").get<std::uint64_t>(), noise.at("offset").get<std::uint64_t>());
    if (state.finished && root)
      std::fprintf(stderr, "train: the run in %s had finished; re-evaluating its best checkpoint\n", options.out.c_str());
  } else {
    // Every rank starts from rank 0's weights (identical by construction; broadcast makes sure).
    std::vector<Tensor> values;
    for (const Variable& parameter : parameters) values.push_back(parameter.data());
    communicator.broadcast(values, 0);
  }
  // Data parallelism (MPI): gradients summed in buckets; the ranks' weights compared by checksum.
  GradientReducer reducer(parameters, communicator,
                          {.bucket_bytes = static_cast<std::int64_t>(training.allreduce_bucket_mb * 1024.0 * 1024.0),
                           .overlap = training.allreduce_overlap});
  auto check_parameters = [&](const std::string& when) {
    if (communicator.size() == 1) return;
    if (const std::string mismatch = parameter_mismatch(communicator, parameters, when); !mismatch.empty())
      communicator.abort(mismatch);
  };
  check_parameters(options.resume ? "after loading " + last_path : "after broadcasting the initial weights");

  auto save_last = [&] {
    if (!root) return;
    const nlohmann::json metadata = {{"config", resolved.document},
                                     {"training_state", state.to_json()},
                                     {"noise", {{"seed", model.noise_generator().seed}, {"offset", model.noise_generator().offset}}},
                                     {"data", data.description},
                                     {"class_names", data.train.class_names}};
    nn::save_checkpoint(last_path, model, &optimizer, metadata, average.get());
  };

  MetricsLog log(options.out + "/metrics.jsonl", root);
  ProgressLine progress(options.progress_bar && root);
  received_signal.store(0);
  auto previous_interrupt = std::signal(SIGINT, on_stop_signal);
  auto previous_terminate = std::signal(SIGTERM, on_stop_signal);
  struct RestoreSignals {
    decltype(previous_interrupt) interrupt, terminate;
    ~RestoreSignals() {
      std::signal(SIGINT, interrupt);
      std::signal(SIGTERM, terminate);
    }
  } restore{previous_interrupt, previous_terminate};

  TrainResult result;
  const std::int64_t seq_len = model_config.seq_len;
  double window_loss = 0.0, window_correct = 0.0, window_count = 0.0, window_seconds = 0.0;
  std::int64_t window_tokens = 0;
  // A run stopped by max_steps is not finished: --resume with a larger max_steps continues it.
  bool stop = state.finished || (training.max_steps > 0 && state.step >= training.max_steps);
  bool stopped_by_max_steps = !state.finished && stop;
  // Validation (or, under the published protocol, test) with the averaged weights when kept.
  auto evaluate_validation = [&](std::int64_t epoch) {
    if (average) average->swap();
    const ClassificationMetrics validation =
        evaluate(model, data.validation, training.eval_batch_size, communicator, training.max_eval_examples);
    const double accuracy = validation.accuracy();
    nlohmann::json entry = validation.to_json();
    entry["type"] = "validation";
    entry["split"] = selection_split;
    entry["epoch"] = epoch + 1;
    entry["step"] = state.step;
    log.write(entry);
    if (root)
      std::fprintf(stderr, "epoch %lld: %s accuracy %.2f%%, loss %.4f%s\n", static_cast<long long>(epoch + 1),
                   selection_split.c_str(), 100.0 * accuracy, validation.loss,
                   accuracy > state.best_validation_accuracy ? " (best)" : "");
    if (accuracy > state.best_validation_accuracy) {
      state.best_validation_accuracy = accuracy;
      state.best_epoch = epoch + 1;
      state.best_validation = validation.to_json();
      if (root)
        nn::save_checkpoint(best_path, model, nullptr,
                            {{"config", resolved.document},
                             {"epoch", epoch + 1},
                             {"validation", state.best_validation},
                             {"checkpoint_chosen_on", selection_split},
                             {"class_names", data.train.class_names}});
    }
    if (average) average->swap();
    // Patience: from early_stopping_min_epochs on, against the best score seen since then.
    if (epoch + 1 >= training.early_stopping_min_epochs) {
      if (accuracy > state.patience_best) {
        state.patience_best = accuracy;
        state.evaluations_without_improvement = 0;
      } else {
        ++state.evaluations_without_improvement;
      }
    }
  };

  while (!stop && state.epoch < training.epochs) {
    const std::vector<std::int64_t> order = epoch_permutation(train_count, static_cast<std::uint64_t>(training.seed), state.epoch);
    while (state.batch_in_epoch < steps_per_epoch) {
      const auto started = std::chrono::steady_clock::now();
      const std::int64_t first = state.batch_in_epoch * training.batch_size;
      const std::int64_t global_count = std::min(training.batch_size, train_count - first);
      // This rank's share of the global batch.
      const std::int64_t local_first = first + global_count * communicator.rank() / communicator.size();
      const std::int64_t local_last = first + global_count * (communicator.rank() + 1) / communicator.size();
      std::vector<std::int64_t> rows(order.begin() + local_first, order.begin() + local_last);
      model.train();
      model.set_training_step(state.step);
      const Generator shared_noise = model.noise_generator();
      if (communicator.size() > 1) model.noise_generator() = rank_noise_stream(shared_noise, communicator.rank());
      std::vector<double> stats{0.0, 0.0, 0.0, 0.0};  // loss sum, correct, interrupt flag, noise draws
      reducer.begin_step();
      if (!rows.empty()) {
        const BatchOutcome outcome =
            forward_backward(model, make_batch(data.train, rows), global_count, training.label_smoothing, reducer.hook());
        stats[0] = outcome.loss_sum * static_cast<double>(global_count);
        stats[1] = outcome.correct;
      }
      stats[2] = received_signal.load() != 0 ? 1.0 : 0.0;
      stats[3] = static_cast<double>(model.noise_generator().offset - shared_noise.offset);
      reducer.finish_step();
      communicator.allreduce_sum(stats);
      if (communicator.size() > 1)
        model.noise_generator() = Generator(shared_noise.seed, shared_noise.offset + static_cast<std::uint64_t>(stats[3]));
      const double batch_loss = stats[0] / static_cast<double>(global_count);
      const UpdateOutcome update =
          apply_update(parameters, optimizer, schedule, state.step, training.gradient_clip, batch_loss, average.get());
      const double norm = update.gradient_norm;
      if (!update.applied) {
        // A non-finite loss or gradient never reaches the weights.
        ++state.nonfinite_in_row;
        ++state.nonfinite_total;
        if (root)
          std::fprintf(stderr, "\nstep %lld: non-finite %s (loss %g, gradient norm %g); step skipped (%lld in a row)\n",
                       static_cast<long long>(state.step), std::isfinite(batch_loss) ? "gradient" : "loss", batch_loss,
                       norm, static_cast<long long>(state.nonfinite_in_row));
        if (state.nonfinite_in_row >= training.max_nonfinite_steps) {
          fail("train: {} consecutive steps with a non-finite loss or gradient (last at step {}); stopping. The last good "
               "checkpoint is {}; try a lower learning_rate",
               state.nonfinite_in_row, state.step, last_path);
        }
      } else {
        state.nonfinite_in_row = 0;
      }
      ++state.step;
      ++state.batch_in_epoch;
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      state.elapsed_seconds += seconds;
      state.tokens_seen += global_count * seq_len;
      window_loss += stats[0];
      window_correct += stats[1];
      window_count += static_cast<double>(global_count);
      window_seconds += seconds;
      window_tokens += global_count * seq_len;
      const bool log_now = state.step % training.log_every == 0 || state.batch_in_epoch == steps_per_epoch;
      const double tokens_per_second = window_seconds > 0 ? static_cast<double>(window_tokens) / window_seconds : 0.0;
      const double remaining_steps = static_cast<double>(total_steps - state.step);
      const std::string text = fmt::format(
          "epoch {}/{} step {}/{} loss {:.4f} acc {:.1f}% {:.0f} tok/s ETA {}", state.epoch + 1, training.epochs,
          state.batch_in_epoch, steps_per_epoch, window_loss / window_count, 100.0 * window_correct / window_count,
          tokens_per_second, format_duration(remaining_steps * static_cast<double>(global_count * seq_len) / std::max(tokens_per_second, 1.0)));
      if (root) progress.update(text, static_cast<double>(state.batch_in_epoch) / static_cast<double>(steps_per_epoch), log_now);
      if (log_now) {
        log.write({{"type", "train"}, {"epoch", state.epoch + 1}, {"step", state.step}, {"loss", window_loss / window_count},
                   {"last_loss", batch_loss}, {"accuracy", window_correct / window_count},
                   {"learning_rate", optimizer.learning_rate()}, {"gradient_norm", norm},
                   {"tokens_per_second", tokens_per_second}});
        window_loss = window_correct = window_count = window_seconds = 0.0;
        window_tokens = 0;
      }
      if (training.check_parameters_every > 0 && state.step % training.check_parameters_every == 0)
        check_parameters(fmt::format("at step {}", state.step));
      if (training.eval_every_steps > 0 && state.step % training.eval_every_steps == 0 &&
          state.batch_in_epoch < steps_per_epoch)  // the epoch's end validates anyway
        evaluate_validation(state.epoch);
      if (training.checkpoint_every_steps > 0 && state.step % training.checkpoint_every_steps == 0) save_last();
      if (stats[2] != 0.0) {
        progress.finish();
        save_last();
        if (root)
          std::fprintf(stderr, "train: interrupted at step %lld; saved %s. Continue with: swarmformer train --out %s --resume\n",
                       static_cast<long long>(state.step), last_path.c_str(), options.out.c_str());
        result.interrupted = true;
        return result;
      }
      if (training.max_steps > 0 && state.step >= training.max_steps) {
        stop = stopped_by_max_steps = true;
        break;
      }
    }
    progress.finish();
    if (state.batch_in_epoch >= steps_per_epoch) {
      evaluate_validation(state.epoch);
      ++state.epoch;
      state.batch_in_epoch = 0;
      if (training.early_stopping_patience > 0 && state.evaluations_without_improvement >= training.early_stopping_patience) {
        if (root)
          std::fprintf(stderr, "early stopping: no better %s accuracy for %lld evaluations\n", selection_split.c_str(),
                       static_cast<long long>(state.evaluations_without_improvement));
        stop = true;
      }
    } else if (stop && state.best_epoch < 0) {
      evaluate_validation(state.epoch);  // stopped by max_steps before any evaluation
    }
    save_last();
  }
  state.finished = !stopped_by_max_steps;
  save_last();

  // The test split, once, with the checkpoint chosen on validation.
  // Only rank 0 writes (and so can be sure to see) best.safetensors; the others get its weights.
  if (root) nn::load_checkpoint(best_path, model, nullptr);
  std::vector<Tensor> best_values;
  for (const Variable& parameter : parameters) best_values.push_back(parameter.data());
  communicator.broadcast(best_values, 0);
  result.test = evaluate(model, data.test, training.eval_batch_size, communicator, training.max_eval_examples);
  if (root) {
    const bool plotted = plot_curves(options.out, training.selects_on_test() ? "test (chosen on test)" : "validation");
    nlohmann::json report = {
        {"test", result.test.to_json()},
        {"validation", state.best_validation},
        {"checkpoint_chosen_on", training.selects_on_test() ? "test (published protocol)" : "validation"},
        {"best_epoch", state.best_epoch},
        {"steps", state.step},
        {"parameters", model.parameter_count()},
        {"wall_time_seconds", state.elapsed_seconds},
        {"tokens_per_second", state.elapsed_seconds > 0 ? static_cast<double>(state.tokens_seen) / state.elapsed_seconds : 0.0},
        {"peak_rss_mb", peak_rss_megabytes()},
        {"parallelism", fmt::format("{} x {} threads", communicator.describe(), parallel::num_threads())},
        {"nonfinite_steps_skipped", state.nonfinite_total},
        {"config", resolved.document},
        {"data", data.description},
        {"git_commit", build_git_commit()},
        {"curves", plotted ? "curves.png" : ""}};
    write_report(options.out, report);
    result.report = report;
  }
  return result;
}

}  // namespace

TrainResult train(const TrainOptions& options, Communicator& communicator) {
  if (communicator.size() == 1) return run_training(options, communicator);
  // Under MPI an error on one rank must not leave the others waiting in a collective: it aborts
  // the whole job, naming the rank. Checkpoint writes are atomic, so last.safetensors stays valid.
  try {
    return run_training(options, communicator);
  } catch (const std::exception& error) {
    communicator.abort(error.what());
    throw;  // not reached: abort ends the process
  }
}

}  // namespace sf
