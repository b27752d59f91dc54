// The training loop. See trainer.hpp for the run directory and the resume guarantee.
#include "sf/swarmformer/trainer.hpp"

#include "hashing.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "sf/autograd/functional.hpp"
#include "sf/core/compute.hpp"
#include "sf/core/kernels/gemm_bf16.hpp"
#include "sf/core/matmul.hpp"
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
#include "sf/swarmformer/training_step.hpp"
#include "sf/swarmformer/training_task.hpp"

namespace sf {
namespace {

using TaskFactory = std::function<std::unique_ptr<TrainingTask>(const TaskPaths&, const ResolvedConfig&, Communicator&, bool)>;

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

// Loads the tensors of `path` whose names are parameters of `model` (shapes checked), leaving the
// others as initialized; says what was loaded, what is new and what the file holds unused.
// Loads the encoder tensors of `path` whose names are parameters of `model` (shapes checked), and
// leaves the task heads (classifier.*, mlm_head.*) and whatever the file lacks as initialized; says
// what was loaded, what is new and what the file holds unused.
nlohmann::json initialize_from(SwarmFormer& model, const std::string& path, bool verbose) {
  const SafetensorsFile file = load_safetensors(path);
  const nlohmann::json stored = file.metadata.value("config", nlohmann::json()).value("model", nlohmann::json());
  if (stored.is_object() && stored.value("variant", model.config().variant) != model.config().variant)
    fail("--init-from {}: it holds an {} SwarmFormer, but this run trains the {} variant", path,
         stored.value("variant", std::string()), model.config().variant);
  const auto is_head = [](const std::string& name) { return name.rfind("classifier.", 0) == 0 || name.rfind("mlm_head.", 0) == 0; };
  NamedTensors destinations;
  std::vector<std::string> fresh;
  for (auto& [name, parameter] : model.named_parameters()) {
    if (is_head(name)) fresh.push_back(name);
    else destinations.emplace_back(name, parameter.data());
  }
  const LoadReport loaded = load_into(file, destinations, /*strict=*/false, path);  // shape mismatches throw, all listed
  for (auto& [name, parameter] : model.named_parameters()) parameter.data().bump_version();
  fresh.insert(fresh.end(), loaded.missing.begin(), loaded.missing.end());
  std::vector<std::string> unused;
  for (const std::string& name : loaded.unexpected)
    if (name.rfind("optimizer.", 0) != 0 && name.rfind("ema.", 0) != 0) unused.push_back(name);
  const std::int64_t count = static_cast<std::int64_t>(destinations.size() - loaded.missing.size());
  if (count == 0) fail("--init-from {}: none of its tensors is an encoder parameter of this model", path);
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << stream.rdbuf();
  const std::string hash = fmt::format("{:016x}", detail::fnv1a(bytes.str()));
  if (verbose)
    std::fprintf(stderr, "init-from %s (fnv1a64 %s): loaded %lld tensors; new: %s; unused: %s\n", path.c_str(), hash.c_str(),
                 static_cast<long long>(count), fresh.empty() ? "none" : fmt::format("{}", fmt::join(fresh, ", ")).c_str(),
                 unused.empty() ? "none" : fmt::format("{}", fmt::join(unused, ", ")).c_str());
  return {{"path", path}, {"fnv1a64", hash}, {"loaded", count}, {"new", fresh}, {"unused", unused}};
}

std::string format_duration(double seconds) {
  const auto total = static_cast<std::int64_t>(seconds);
  return total >= 3600 ? fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
                       : fmt::format("{:02}:{:02}", total / 60, total % 60);
}

TrainResult run_training(const TrainOptions& options, Communicator& communicator, const TaskFactory& make_task) {
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

  // The task: its data, its loss, its evaluation.
  const TaskPaths paths{.data = options.data,
                        .vocab = options.vocab,
                        .cache_dir = options.cache_dir.empty() ? options.out + "/cache" : options.cache_dir,
                        .extra_corpora = options.extra_corpora};
  const std::unique_ptr<TrainingTask> task = make_task(paths, resolved, communicator, root);
  const std::int64_t train_count = task->train_size();
  const std::int64_t steps_per_epoch = (train_count + training.batch_size - 1) / training.batch_size;
  const std::int64_t total_steps = steps_per_epoch * training.epochs;
  if (steps_per_epoch == 0) fail("{}: no training data in {}", task->name(), options.data);

  // Model (with what the task adds), optimizer, schedule.
  SwarmFormer model(model_config, static_cast<std::uint64_t>(training.seed));
  task->prepare(model);
  if (training.precision == "fp64") model.to(DType::Float64);
  const bool bfloat16 = uses_bfloat16(training);
  const compute::MatmulPrecisionGuard matmul_precision(bfloat16 ? compute::MatmulPrecision::Bfloat16
                                                                : compute::MatmulPrecision::Float32);
  nlohmann::json init_report = nullptr;
  if (!options.init_from.empty()) {
    if (options.resume) fail("train: --init-from starts a run; a resumed run continues from its own last.safetensors");
    init_report = initialize_from(model, options.init_from, root);
  }
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
                                     {"task", task->name()},
                                     {"data", task->data_description()},
                                     {"class_names", task->class_names()}};
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
  double window_loss = 0.0, window_correct = 0.0, window_units = 0.0, window_seconds = 0.0;
  std::int64_t window_tokens = 0;
  // A run stopped by max_steps is not finished: --resume with a larger max_steps continues it.
  bool stop = state.finished || (training.max_steps > 0 && state.step >= training.max_steps);
  bool stopped_by_max_steps = !state.finished && stop;
  // Validation (or, under the published protocol, test) with the averaged weights when kept.
  auto evaluate_validation = [&](std::int64_t epoch, bool end_of_epoch) {
    if (average) average->swap();
    const TaskEvaluation validation = task->validate(model);
    const double accuracy = validation.score;
    nlohmann::json entry = validation.metrics;
    entry["type"] = "validation";
    entry["split"] = selection_split;
    entry["epoch"] = epoch + 1;
    entry["step"] = state.step;
    log.write(entry);
    if (root)
      std::fprintf(stderr, "epoch %lld: %s %s %.2f%%, loss %.4f%s\n", static_cast<long long>(epoch + 1),
                   selection_split.c_str(), task->score_name().c_str(), 100.0 * accuracy, validation.loss,
                   accuracy > state.best_validation_accuracy ? " (best)" : "");
    // The weights alone (the averaged ones when kept), with what they were validated on.
    auto save_weights = [&](const std::string& path) {
      if (root)
        nn::save_checkpoint(path, model, nullptr,
                            {{"config", resolved.document},
                             {"task", task->name()},
                             {"epoch", epoch + 1},
                             {"step", state.step},
                             {"validation", validation.metrics},
                             {"checkpoint_chosen_on", selection_split},
                             {"class_names", task->class_names()}});
    };
    if (accuracy > state.best_validation_accuracy) {
      state.best_validation_accuracy = accuracy;
      state.best_epoch = epoch + 1;
      state.best_validation = validation.metrics;
      save_weights(best_path);
    }
    if (end_of_epoch && training.keep_epoch_checkpoints) save_weights(fmt::format("{}/epoch-{}.safetensors", options.out, epoch + 1));
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
      reducer.begin_step();
      const StepOutcome outcome = task->step(model, rows, global_count, state.epoch, reducer.hook());
      // loss sum, correct, interrupt flag, noise draws, units (examples or masked tokens)
      std::vector<double> stats{outcome.loss_sum, outcome.correct, 0.0, 0.0, outcome.units};
      stats[2] = received_signal.load() != 0 ? 1.0 : 0.0;
      stats[3] = static_cast<double>(model.noise_generator().offset - shared_noise.offset);
      reducer.finish_step();
      communicator.allreduce_sum(stats);
      if (communicator.size() > 1)
        model.noise_generator() = Generator(shared_noise.seed, shared_noise.offset + static_cast<std::uint64_t>(stats[3]));
      const double batch_loss = stats[4] > 0.0 ? stats[0] / stats[4] : 0.0;
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
      window_units += stats[4];
      window_seconds += seconds;
      window_tokens += global_count * seq_len;
      const bool log_now = state.step % training.log_every == 0 || state.batch_in_epoch == steps_per_epoch;
      const double tokens_per_second = window_seconds > 0 ? static_cast<double>(window_tokens) / window_seconds : 0.0;
      const double remaining_steps = static_cast<double>(total_steps - state.step);
      const std::string text = fmt::format(
          "epoch {}/{} step {}/{} loss {:.4f} acc {:.1f}% {:.0f} tok/s ETA {}", state.epoch + 1, training.epochs,
          state.batch_in_epoch, steps_per_epoch, window_loss / window_units, 100.0 * window_correct / window_units,
          tokens_per_second, format_duration(remaining_steps * static_cast<double>(global_count * seq_len) / std::max(tokens_per_second, 1.0)));
      if (root) progress.update(text, static_cast<double>(state.batch_in_epoch) / static_cast<double>(steps_per_epoch), log_now);
      if (log_now) {
        log.write({{"type", "train"}, {"epoch", state.epoch + 1}, {"step", state.step}, {"loss", window_loss / window_units},
                   {"last_loss", batch_loss}, {"accuracy", window_correct / window_units},
                   {"learning_rate", optimizer.learning_rate()}, {"gradient_norm", norm},
                   {"tokens_per_second", tokens_per_second}});
        window_loss = window_correct = window_units = window_seconds = 0.0;
        window_tokens = 0;
      }
      if (training.check_parameters_every > 0 && state.step % training.check_parameters_every == 0)
        check_parameters(fmt::format("at step {}", state.step));
      if (training.eval_every_steps > 0 && state.step % training.eval_every_steps == 0 &&
          state.batch_in_epoch < steps_per_epoch)  // the epoch's end validates anyway
        evaluate_validation(state.epoch, false);
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
      evaluate_validation(state.epoch, true);
      ++state.epoch;
      state.batch_in_epoch = 0;
      if (training.early_stopping_patience > 0 && state.evaluations_without_improvement >= training.early_stopping_patience) {
        if (root)
          std::fprintf(stderr, "early stopping: no better %s accuracy for %lld evaluations\n", selection_split.c_str(),
                       static_cast<long long>(state.evaluations_without_improvement));
        stop = true;
      }
    } else if (stop && state.best_epoch < 0) {
      evaluate_validation(state.epoch, false);  // stopped by max_steps before any evaluation
    }
    save_last();
  }
  state.finished = !stopped_by_max_steps;
  save_last();

  // The task's last word (classification: the test split, once) with the chosen checkpoint.
  // Only rank 0 writes (and so can be sure to see) best.safetensors; the others get its weights.
  if (root) nn::load_checkpoint(best_path, model, nullptr);
  std::vector<Tensor> best_values;
  for (const Variable& parameter : parameters) best_values.push_back(parameter.data());
  communicator.broadcast(best_values, 0);
  const nlohmann::json final_evaluation = task->finish(model);
  if (root) {
    const bool plotted = plot_curves(options.out, training.selects_on_test() ? "test (chosen on test)" : "validation");
    nlohmann::json report = {
        {"task", task->name()},
        {"score_name", task->score_name()},
        {"validation", state.best_validation},
        {"checkpoint_chosen_on", training.selects_on_test() ? "test (published protocol)" : "validation"},
        {"best_epoch", state.best_epoch},
        {"steps", state.step},
        {"parameters", model.parameter_count()},
        {"wall_time_seconds", state.elapsed_seconds},
        {"tokens_per_second", state.elapsed_seconds > 0 ? static_cast<double>(state.tokens_seen) / state.elapsed_seconds : 0.0},
        {"peak_rss_mb", peak_rss_megabytes()},
        {"parallelism", fmt::format("{} x {} threads", communicator.describe(), parallel::num_threads())},
        {"arithmetic", arithmetic_description(training)},
        {"nonfinite_steps_skipped", state.nonfinite_total},
        {"config", resolved.document},
        {"init_from", init_report},
        {"data", task->data_description()},
        {"git_commit", build_git_commit()},
        {"curves", plotted ? "curves.png" : ""}};
    for (const auto& [key, value] : final_evaluation.items()) report[key] = value;
    write_report(options.out, report);
    result.report = report;
  }
  return result;
}

TrainResult run_guarded(const TrainOptions& options, Communicator& communicator, const TaskFactory& make_task) {
  if (communicator.size() == 1) return run_training(options, communicator, make_task);
  // Under MPI an error on one rank must not leave the others waiting in a collective: it aborts
  // the whole job, naming the rank. Checkpoint writes are atomic, so last.safetensors stays valid.
  try {
    return run_training(options, communicator, make_task);
  } catch (const std::exception& error) {
    communicator.abort(error.what());
    throw;  // not reached: abort ends the process
  }
}

}  // namespace

TrainResult train(const TrainOptions& options, Communicator& communicator) {
  return run_guarded(options, communicator,
                     [](const TaskPaths& paths, const ResolvedConfig& resolved, Communicator& comm, bool verbose) {
                       return make_classification_task(paths, resolved.model, resolved.training, comm, verbose);
                     });
}

TrainResult pretrain(const TrainOptions& options, Communicator& communicator) {
  if (options.select_on_test) fail("pretrain: --select-on-test has no meaning here (pretraining never sees the test split)");
  return run_guarded(options, communicator,
                     [](const TaskPaths& paths, const ResolvedConfig& resolved, Communicator& comm, bool verbose) {
                       if (resolved.training.selects_on_test())
                         fail("pretrain: checkpoint_selection must be \"validation\" (pretraining never sees the test split)");
                       return make_masked_lm_task(paths, resolved.model, resolved.training, comm, verbose);
                     });
}

}  // namespace sf
