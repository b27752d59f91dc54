// train, eval, predict: the main job.
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "run_events.hpp"
#include "sf/core/matmul.hpp"
#include "sf/nn/safetensors.hpp"
#include "sf/swarmformer/dataset.hpp"
#include "sf/swarmformer/distributed.hpp"
#include "sf/swarmformer/evaluation.hpp"
#include "sf/swarmformer/token_cache.hpp"
#include "sf/swarmformer/tokenizer.hpp"
#include "sf/swarmformer/trainer.hpp"
#include "sf/swarmformer/training_data.hpp"

namespace sf::cli {
namespace {

std::string vocabulary_or_default(const std::string& given, const std::string& data) {
  if (!given.empty()) return given;
  const std::string found = find_default_vocabulary(data);
  if (found.empty())
    fail("no vocabulary: pass --vocab FILE (bert-base-uncased-vocab.txt), or set SF_VOCAB or SF_DATA_DIR");
  return found;
}

}  // namespace

// `train` and `pretrain`: one trainer, two tasks, the same options (pretrain adds --corpus).
void add_training_command(CLI::App& app, bool pretraining) {
  struct TrainCli {
    TrainOptions options;
    std::string preset, config_file;
    int threads = 0;
    bool no_progress = false;
  };
  auto train_cli = std::make_shared<TrainCli>();
  const char* name = pretraining ? "pretrain" : "train";
  CLI::App* train_command = app.add_subcommand(
      name, pretraining ? "pretrain a SwarmFormer encoder with masked language modelling on unlabelled text (never the test split)"
                        : "train a SwarmFormer, evaluate it, write a report");
  train_command->add_option("--preset", train_cli->preset, "a built-in preset (default enhanced-small)");
  train_command->add_option("--config", train_cli->config_file, "a JSON config file");
  train_command->add_option("--data", train_cli->options.data,
                            pretraining ? "dataset whose training and unlabelled texts (aclImdb train/unsup, unsup.jsonl) "
                                          "are the corpus; its test texts are kept out"
                                        : "dataset: aclImdb folder or aclImdb_v1.tar.gz, a folder with train/test "
                                          ".jsonl[.gz], or a .jsonl/.csv file pair prefix")
      ->required();
  train_command->add_option("--out", train_cli->options.out, "run directory (checkpoints, metrics, report)")->required();
  train_command->add_option("--vocab", train_cli->options.vocab, "vocab.txt (default: found next to the data)");
  train_command->add_option("--set", train_cli->options.overrides, "override a model or training field: key=value");
  train_command->add_option("--cache-dir", train_cli->options.cache_dir, "tokenized-data cache (default RUN_DIR/cache)");
  train_command->add_flag("--resume", train_cli->options.resume, "continue the run in --out from last.safetensors");
  train_command->add_flag("--no-progress", train_cli->no_progress, "plain progress lines even on a terminal");
  train_command->add_option("--init-from", train_cli->options.init_from,
                            "start from these weights, by name (e.g. a `pretrain` run's best.safetensors); the "
                            "classifier and anything else the file lacks stay freshly initialized");
  if (pretraining) {
    train_command->add_option("--corpus", train_cli->options.extra_corpora,
                              "more unlabelled text: .jsonl[.gz] (\"text\" fields), .txt[.gz] (a text per line), an "
                              "aclImdb folder or archive (repeatable)");
  } else {
    train_command->add_flag("--select-on-test", train_cli->options.select_on_test,
                            "confirm a config with checkpoint_selection=test (the published SwarmFormer protocol: the "
                            "test split chooses the checkpoint; reports say so)");
  }
  add_threads_option(train_command, train_cli->threads);
  train_command->callback([train_cli, pretraining, name] {
    auto communicator = make_communicator();
    apply_threads(train_cli->threads);
    TrainOptions options = train_cli->options;
    if (!train_cli->preset.empty() && !train_cli->config_file.empty()) fail("{}: give --preset or --config, not both", name);
    // Empty: enhanced-small for a new run, the run's own on --resume (a different one is refused).
    options.config = !train_cli->config_file.empty() ? train_cli->config_file : train_cli->preset;
    options.vocab = vocabulary_or_default(options.vocab, options.data);
    ProgressLine progress(!train_cli->no_progress && communicator->is_root());
    options.events = command_line_events(progress);
    const StopSignals stop_signals;  // Ctrl-C: save last.safetensors and stop
    const TrainResult result = pretraining ? pretrain(options, *communicator) : train(options, *communicator);
    if (communicator->is_root() && !result.interrupted) {
      std::cout << nlohmann::json{{pretraining ? "validation" : "test",
                                   result.report.value(pretraining ? "validation" : "test", nlohmann::json())},
                                  {"report", options.out + "/report.md"},
                                  {"curves", options.out + "/curves.png"}}
                       .dump(2)
                << std::endl;
    }
    if (result.interrupted) throw CLI::RuntimeError(130);
  });
}

void add_train_commands(CLI::App& app) {
  add_training_command(app, /*pretraining=*/false);
  add_training_command(app, /*pretraining=*/true);

  struct EvalCli {
    std::string checkpoint, data, vocab, split = "test", preset;
    std::vector<std::string> overrides;
    std::int64_t batch = 128, max_examples = 0;
    int threads = 0;
  };
  auto eval_cli = std::make_shared<EvalCli>();
  CLI::App* eval_command = app.add_subcommand("eval", "evaluate a checkpoint on a dataset split; prints metrics as JSON");
  eval_command->add_option("--checkpoint", eval_cli->checkpoint, "model .safetensors")->required();
  eval_command->add_option("--data", eval_cli->data, "dataset path (as for train)")->required();
  eval_command->add_option("--split", eval_cli->split, "test or validation (validation: the same split train carved out)")
      ->check(CLI::IsMember({"test", "validation"}));
  eval_command->add_option("--vocab", eval_cli->vocab, "vocab.txt");
  eval_command->add_option("--batch", eval_cli->batch, "evaluation batch size");
  eval_command->add_option("--max-examples", eval_cli->max_examples,
                           "evaluate a random sample of this many examples (the one `train` draws for max_eval_examples "
                           "with the checkpoint's seed; 0: all)")
      ->check(CLI::NonNegativeNumber);
  eval_command->add_option("--preset", eval_cli->preset, "model config when the checkpoint stores none");
  add_input_overrides_option(eval_command, eval_cli->overrides);
  add_threads_option(eval_command, eval_cli->threads);
  eval_command->callback([eval_cli] {
    auto communicator = make_communicator();
    apply_threads(eval_cli->threads);
    std::vector<std::string> input_overrides = eval_cli->overrides;
    TrainingConfig arithmetic;
    arithmetic.precision = take_precision(input_overrides);
    auto model = load_model(eval_cli->checkpoint, eval_cli->preset, input_overrides);
    const SafetensorsHeader header = read_safetensors_header(eval_cli->checkpoint);
    TrainingConfig training;
    if (header.metadata.contains("config") && header.metadata["config"].contains("training"))
      training = TrainingConfig::from_json(header.metadata["config"]["training"], eval_cli->checkpoint);
    training.max_train_examples = 0;
    training.max_eval_examples = eval_cli->max_examples;
    training.augment.clear();  // the training split is not used here
    const TrainingData data = load_training_data(eval_cli->data, vocabulary_or_default(eval_cli->vocab, eval_cli->data),
                                                 model->config(), training, "", stderr_messages(*communicator));
    const TokenizedSplit& split = eval_cli->split == "test" ? data.test : data.validation;
    const compute::MatmulPrecisionGuard products(uses_bfloat16(arithmetic) ? compute::MatmulPrecision::Bfloat16
                                                                           : compute::MatmulPrecision::Float32);
    const ClassificationMetrics metrics = evaluate(*model, split, eval_cli->batch, *communicator);
    if (communicator->is_root()) {
      nlohmann::json output = metrics.to_json();
      output["split"] = eval_cli->split;
      output["input"] = {{"truncation", model->config().truncation},
                         {"truncation_head", model->config().truncation_head},
                         {"eval_windows", model->config().eval_windows}};
      output["arithmetic"] = arithmetic_description(arithmetic);
      if (header.metadata.contains("checkpoint_chosen_on")) output["checkpoint_chosen_on"] = header.metadata["checkpoint_chosen_on"];
      output["checkpoint"] = eval_cli->checkpoint;
      std::cout << output.dump(2) << std::endl;
    }
  });

  struct PredictCli {
    std::string checkpoint, vocab, preset;
    std::vector<std::string> overrides;
    std::vector<std::string> texts;
    int threads = 0;
  };
  auto predict_cli = std::make_shared<PredictCli>();
  CLI::App* predict_command =
      app.add_subcommand("predict", "classify texts (arguments, or one per stdin line): label and probability");
  predict_command->add_option("--checkpoint", predict_cli->checkpoint, "model .safetensors")->required();
  predict_command->add_option("--vocab", predict_cli->vocab, "vocab.txt");
  predict_command->add_option("--preset", predict_cli->preset, "model config when the checkpoint stores none");
  predict_command->add_option("texts", predict_cli->texts, "texts to classify (default: read lines from stdin)");
  add_input_overrides_option(predict_command, predict_cli->overrides);
  add_threads_option(predict_command, predict_cli->threads);
  predict_command->callback([predict_cli] {
    apply_threads(predict_cli->threads);
    std::vector<std::string> input_overrides = predict_cli->overrides;
    const std::string precision = take_precision(input_overrides);
    Classifier classifier = Classifier::load(predict_cli->checkpoint,
                                             {.vocabulary = vocabulary_or_default(predict_cli->vocab, ""),
                                              .preset_or_config = predict_cli->preset,
                                              .input_overrides = input_overrides,
                                              .batch_size = 64,
                                              .precision = precision});
    std::vector<std::string> texts = predict_cli->texts;
    if (texts.empty())
      for (std::string line; std::getline(std::cin, line);) texts.push_back(line);
    for (const Prediction& prediction : classifier.predict(texts))
      std::cout << nlohmann::json{{"label", prediction.label},
                                  {"probability", prediction.probability},
                                  {"probabilities", prediction.probabilities}}
                       .dump()
                << '\n';
  });
}

}  // namespace sf::cli
