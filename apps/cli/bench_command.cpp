// bench: training-step and inference throughput of a preset on random tokens.
//
// A training step is forward + backward + AdamW with dropout on; inference is an evaluation-mode
// forward without a graph (in sub-batches, SwarmFormer::forward; --inference-sub-batch 0 runs the
// batch whole). Each is timed over --steps repetitions after two warm-up steps and
// the median is reported.
#include <algorithm>
#include <chrono>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "sf/core/matmul.hpp"
#include "sf/autograd/functional.hpp"
#include "sf/autograd/grad_mode.hpp"
#include "sf/core/parallel.hpp"
#include "sf/nn/optimizer.hpp"
#include "sf/swarmformer/report.hpp"
#include "sf/swarmformer/trainer.hpp"
#include "sf/swarmformer/training_step.hpp"

namespace sf::cli {
namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : 0.5 * (values[middle - 1] + values[middle]);
}

template <class Body>
std::vector<double> time_steps(int warmup, int steps, Body&& body) {
  std::vector<double> seconds;
  for (int step = 0; step < warmup + steps; ++step) {
    const auto started = std::chrono::steady_clock::now();
    body();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (step >= warmup) seconds.push_back(elapsed);
  }
  return seconds;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  struct Options {
    std::string preset = "enhanced-small", config;
    std::vector<std::string> overrides;
    std::int64_t batch = 48, inference_sub_batch = -1;  // -1: the model's default
    int threads = 0, steps = 10;
    bool json = false, train_only = false, infer_only = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("bench", "training and inference throughput (tokens/s) of a model");
  command->add_option("--preset", options->preset, "a built-in preset");
  command->add_option("--config", options->config, "a JSON config file (instead of --preset)");
  command->add_option("--set", options->overrides, "override a field: key=value");
  command->add_option("--batch", options->batch, "sequences per step")->check(CLI::PositiveNumber);
  command->add_option("--steps", options->steps, "timed steps (median reported)")->check(CLI::Range(1, 100000));
  command->add_flag("--json", options->json, "print one JSON object");
  command->add_flag("--train-only", options->train_only, "time only the training step");
  command->add_flag("--infer-only", options->infer_only, "time only inference");
  command->add_option("--inference-sub-batch", options->inference_sub_batch,
                      "sequences per inference sub-batch (0: the batch whole; default: about 512 tokens)")
      ->check(CLI::NonNegativeNumber);
  add_threads_option(command, options->threads);
  command->callback([options] {
    apply_threads(options->threads);
    const ResolvedConfig resolved = resolve_config(options->config.empty() ? options->preset : options->config, options->overrides);
    const SwarmFormerConfig& config = resolved.model;
    const TrainingConfig& training = resolved.training;
    SwarmFormer model(config, 1);
    if (options->inference_sub_batch >= 0) model.set_inference_sub_batch(options->inference_sub_batch);
    if (training.precision == "fp64") model.to(DType::Float64);
    const compute::MatmulPrecisionGuard matmul_precision(uses_bfloat16(training) ? compute::MatmulPrecision::Bfloat16
                                                                                 : compute::MatmulPrecision::Float32);
    // The trainer's own step (training_step.hpp): optimizer, schedule, clipping, moving average.
    const std::unique_ptr<nn::AdamW> optimizer = make_optimizer(model, training);
    const LRSchedule schedule = make_schedule(training, 1000);
    std::unique_ptr<nn::ExponentialMovingAverage> average;
    if (training.ema_decay > 0.0) average = std::make_unique<nn::ExponentialMovingAverage>(model, training.ema_decay);
    const std::vector<Variable> parameters = model.parameters();
    Generator generator(3);
    const std::int64_t batch = options->batch, length = config.seq_len;
    // Ids of ordinary words: above BERT's 999 special and unused entries when the vocabulary has
    // them, else anything but padding.
    const std::int64_t first_id = config.vocab_size > 2000 ? 1000 : 1;
    Batch data;
    data.count = batch;
    data.ids.resize(static_cast<std::size_t>(batch * length));
    for (auto& id : data.ids)
      id = first_id + static_cast<std::int64_t>(generator.next_below(static_cast<std::uint64_t>(config.vocab_size - first_id)));
    for (std::int64_t index = 0; index < batch; ++index) data.labels.push_back(index % config.num_classes);
    const std::vector<std::int64_t>& ids = data.ids;
    const double tokens = static_cast<double>(batch * length);

    double train_seconds = 0.0, infer_seconds = 0.0;
    if (!options->infer_only) {
      model.train();
      std::int64_t step = 0;
      train_seconds = median(time_steps(2, options->steps, [&] {
        const StepOutcome outcome = forward_backward(model, data, batch, training.label_smoothing);
        apply_update(parameters, *optimizer, schedule, step++, training.gradient_clip,
                     outcome.loss_sum / static_cast<double>(batch), average.get());
      }));
    }
    if (!options->train_only) {
      model.eval();
      infer_seconds = median(time_steps(2, options->steps, [&] {
        NoGradGuard no_grad;
        (void)model.forward(ids, batch);
      }));
    }
    const nlohmann::json result = {
        {"preset", options->config.empty() ? options->preset : options->config},
        {"threads", parallel::num_threads()},
        {"batch", batch},
        {"seq_len", length},
        {"train_tokens_per_s", train_seconds > 0 ? tokens / train_seconds : 0.0},
        {"infer_tokens_per_s", infer_seconds > 0 ? tokens / infer_seconds : 0.0},
        {"train_ms_per_step", 1000.0 * train_seconds},
        {"infer_ms_per_step", 1000.0 * infer_seconds},
        {"inference_sub_batch", model.inference_sub_batch()},
        {"peak_rss_mb", peak_rss_megabytes()},
        {"parameters", model.parameter_count()},
        {"arithmetic", arithmetic_description(training)}};
    if (options->json) {
      std::cout << result.dump() << std::endl;
    } else {
      std::cout << fmt::format("{} ({} parameters), batch {} x {} tokens, {} threads, {}\n",
                               result["preset"].get<std::string>(), model.parameter_count(), batch, length,
                               parallel::num_threads(), result["arithmetic"].get<std::string>());
      if (!options->infer_only)
        std::cout << fmt::format("  train: {:9.0f} tokens/s  {:8.1f} ms/step\n", result["train_tokens_per_s"].get<double>(),
                                 1000.0 * train_seconds);
      if (!options->train_only)
        std::cout << fmt::format("  infer: {:9.0f} tokens/s  {:8.1f} ms/step  ({})\n",
                                 result["infer_tokens_per_s"].get<double>(), 1000.0 * infer_seconds,
                                 model.inference_sub_batch() == 0 || model.inference_sub_batch() >= batch
                                     ? std::string("the batch whole")
                                     : fmt::format("sub-batches of {} sequences", model.inference_sub_batch()));
      std::cout << fmt::format("  peak RSS {:.0f} MiB\n", result["peak_rss_mb"].get<double>());
    }
  });
}

}  // namespace sf::cli
