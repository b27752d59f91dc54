// trace: the trainer's optimizer steps on batches given as token ids, one JSON line per step and
// the final weights. It calls the same library functions as `train` (training_step.hpp), so the
// PyTorch step-by-step parity test (tests/parity/test_training_parity.py) checks the trainer's own
// arithmetic: loss, backward, clipping, schedule, AdamW, weight-decay groups, precision.
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "sf/core/matmul.hpp"
#include "sf/nn/checkpoint.hpp"
#include "sf/swarmformer/training_step.hpp"

namespace sf::cli {

void add_trace_command(CLI::App& app) {
  struct TraceCli {
    std::string preset, config_file, init, ids_path, labels_path, out;
    std::vector<std::string> overrides;
    std::int64_t batch = 8;
    int threads = 0;
  };
  auto cli = std::make_shared<TraceCli>();
  CLI::App* command = app.add_subcommand(
      "trace", "run the trainer's optimizer steps on given id batches: per-step loss (JSON lines) and final weights");
  command->add_option("--preset", cli->preset, "a built-in preset");
  command->add_option("--config", cli->config_file, "a JSON config file");
  command->add_option("--set", cli->overrides, "override a model or training field: key=value");
  command->add_option("--init", cli->init, "initial weights (.safetensors, e.g. from `swarmformer init`)")->required();
  command->add_option("--ids", cli->ids_path, "token ids, one example per line (padded/truncated to seq_len)")->required();
  command->add_option("--labels", cli->labels_path, "one class index per line")->required();
  command->add_option("--batch", cli->batch, "examples per step; steps = lines / batch")->check(CLI::PositiveNumber);
  command->add_option("--out", cli->out, "the final weights (.safetensors)")->required();
  add_threads_option(command, cli->threads);
  command->callback([cli] {
    apply_threads(cli->threads);
    if (!cli->preset.empty() && !cli->config_file.empty()) fail("trace: give --preset or --config, not both");
    const ResolvedConfig resolved =
        resolve_config(cli->config_file.empty() ? (cli->preset.empty() ? "enhanced-small" : cli->preset) : cli->config_file,
                       cli->overrides);
    const TrainingConfig& training = resolved.training;
    SwarmFormer model(resolved.model, static_cast<std::uint64_t>(training.seed));
    if (training.precision == "fp64") model.to(DType::Float64);
    const compute::MatmulPrecisionGuard matmul_precision(uses_bfloat16(training) ? compute::MatmulPrecision::Bfloat16
                                                                                 : compute::MatmulPrecision::Float32);
    nn::load_checkpoint(cli->init, model, nullptr, /*strict=*/true);

    std::ifstream ids_file(cli->ids_path), labels_file(cli->labels_path);
    if (!ids_file) fail("trace: cannot open --ids {}", cli->ids_path);
    if (!labels_file) fail("trace: cannot open --labels {}", cli->labels_path);
    std::int64_t count = 0;
    const std::vector<std::int64_t> ids = read_id_lines(ids_file, cli->ids_path, resolved.model, count);
    std::vector<std::int64_t> labels;
    for (std::int64_t label; labels_file >> label;) {
      if (label < 0 || label >= resolved.model.num_classes)
        fail("trace: {}: label {} is outside [0, {})", cli->labels_path, label, resolved.model.num_classes);
      labels.push_back(label);
    }
    if (static_cast<std::int64_t>(labels.size()) != count)
      fail("trace: {} has {} labels but {} has {} lines of ids", cli->labels_path, labels.size(), cli->ids_path, count);
    const std::int64_t steps = count / cli->batch;
    if (steps == 0) fail("trace: {} examples make no batch of {}", count, cli->batch);

    const std::unique_ptr<nn::AdamW> optimizer = make_optimizer(model, training);
    const LRSchedule schedule = make_schedule(training, steps);
    std::unique_ptr<nn::ExponentialMovingAverage> average;
    if (training.ema_decay > 0.0) average = std::make_unique<nn::ExponentialMovingAverage>(model, training.ema_decay);
    const std::vector<Variable> parameters = model.parameters();
    const std::int64_t length = resolved.model.seq_len;
    model.train();
    for (std::int64_t step = 0; step < steps; ++step) {
      Batch batch;
      batch.count = cli->batch;
      batch.ids.assign(ids.begin() + step * cli->batch * length, ids.begin() + (step + 1) * cli->batch * length);
      batch.labels.assign(labels.begin() + step * cli->batch, labels.begin() + (step + 1) * cli->batch);
      model.set_training_step(step);
      const StepOutcome outcome = forward_backward(model, batch, cli->batch, training.label_smoothing);
      const double loss = outcome.loss_sum / static_cast<double>(cli->batch);
      const double learning_rate = schedule.learning_rate(step);
      const UpdateOutcome update =
          apply_update(parameters, *optimizer, schedule, step, training.gradient_clip, loss, average.get());
      std::cout << nlohmann::json{{"step", step},
                                  {"loss", loss},
                                  {"gradient_norm", update.gradient_norm},
                                  {"learning_rate", learning_rate},
                                  {"applied", update.applied}}
                       .dump()
                << '\n';
    }
    // The live weights, and the moving average beside them (ema.*) when the config keeps one.
    nn::save_checkpoint(cli->out, model, nullptr, {{"config", resolved.document}, {"steps", steps}}, average.get());
  });
}

}  // namespace sf::cli
