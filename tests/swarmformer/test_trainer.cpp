// Trainer (trainer.hpp) as a library: a run tells the app what happens through TrainingEvents
// and prints nothing itself; a stop request saves last.safetensors and a resumed run ends with the
// same losses as one never stopped; a run that ends before its first evaluation (max_steps, also
// when a resume lowers it below the step reached) still writes best.safetensors and its report; a
// full disk stops a run with the file named, never a half-written checkpoint, metrics line or
// report, and the run resumes once there is space again.
// TrainingState goes to and from JSON through its one field list.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "sf/swarmformer/distributed.hpp"
#include "sf/swarmformer/trainer.hpp"
#include "test_util.hpp"
#include "text_test_util.hpp"

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTokens{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film",
                                       "a",     "was",   "very",  "dull", "!",     ".",    "great", "plot"};

// A tiny dataset (80 training, 24 test reviews of the 16 words above; "good"/"great" positive)
// and a tiny enhanced model, so a run takes well under a second.
struct TrainerFixture {
  sf::test::TemporaryDirectory directory;
  std::string vocabulary = (directory / "vocab.txt").string();
  TrainerFixture() {
    std::string words;
    for (const std::string& token : kTokens) words += token + "\n";
    sf::test::write_file(directory / "vocab.txt", words);
    const std::vector<std::string> positive{"a very good film !", "great plot .", "a good plot", "very great film ."};
    const std::vector<std::string> negative{"a very bad film !", "dull plot .", "a bad plot", "very dull film ."};
    for (const auto& [split, count] : {std::pair<std::string, int>{"train", 80}, {"test", 24}}) {
      std::string lines;
      for (int index = 0; index < count; ++index) {
        const bool good = index % 2 == 0;
        const std::string& text = (good ? positive : negative)[static_cast<std::size_t>(index / 2) % 4];
        lines += "{\"text\": \"" + text + "\", \"label\": \"" + (good ? "pos" : "neg") + "\"}\n";
      }
      sf::test::write_file(directory / (split + ".jsonl"), lines);
    }
  }
  sf::TrainOptions options(const std::string& run, std::vector<std::string> extra = {}) const {
    sf::TrainOptions options;
    options.config = "enhanced-small";
    options.overrides = {"vocab_size=16", "d_model=16", "seq_len=16", "cluster_size=4", "local_heads=2",
                         "cluster_heads=2", "feedback_hidden=8", "local_window=2", "batch_size=8", "epochs=2",
                         "log_every=1", "ema_decay=0"};
    options.overrides.insert(options.overrides.end(), extra.begin(), extra.end());
    options.data = directory.path().string();
    options.vocab = vocabulary;
    options.out = (directory / run).string();
    return options;
  }
  // The last loss logged for each step (a run that failed and was resumed logs some steps twice).
  std::map<std::int64_t, double> losses_by_step(const std::string& run) const {
    std::map<std::int64_t, double> values;
    std::ifstream log(directory / run / "metrics.jsonl");
    for (std::string line; std::getline(log, line);) {
      const nlohmann::json entry = nlohmann::json::parse(line);  // throws on a partial line
      if (entry["type"] == "train") values[entry["step"].get<std::int64_t>()] = entry["last_loss"].get<double>();
    }
    return values;
  }
  std::vector<std::string> leftovers(const std::string& run) const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory / run))
      if (entry.path().filename().string().find(".tmp") != std::string::npos) names.push_back(entry.path().string());
    return names;
  }
  std::vector<double> losses(const std::string& run) const {
    std::vector<double> values;
    std::ifstream log(directory / run / "metrics.jsonl");
    for (std::string line; std::getline(log, line);) {
      const nlohmann::json entry = nlohmann::json::parse(line);
      if (entry["type"] == "train") values.push_back(entry["last_loss"].get<double>());
    }
    return values;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(trainer, TrainerFixture)

BOOST_AUTO_TEST_CASE(events_carry_every_message_progress_line_and_the_plot) {
  sf::TrainOptions run = options("events");
  std::vector<std::string> messages, plots;
  std::int64_t progress_lines = 0, logged = 0;
  run.events.message = [&](const std::string& line) { messages.push_back(line); };
  run.events.progress = [&](const std::string& text, double fraction, bool is_logged) {
    ++progress_lines;
    logged += is_logged ? 1 : 0;
    BOOST_TEST((fraction > 0.0 && fraction <= 1.0));
    BOOST_TEST(text.find("epoch ") == 0u);
  };
  run.events.plot = [&](const std::string& run_dir, const std::string& label) {
    plots.push_back(run_dir + " " + label);
    return false;
  };
  auto communicator = sf::make_communicator();
  const sf::TrainResult result = sf::train(run, *communicator);
  BOOST_TEST(!result.interrupted);
  const std::int64_t steps = result.report["steps"].get<std::int64_t>();
  BOOST_TEST(steps == 2 * 9);  // 72 training examples (8 carved out for validation), batches of 8
  BOOST_TEST(progress_lines == steps);
  BOOST_TEST(logged == steps);  // log_every = 1
  BOOST_REQUIRE(plots.size() == 1u);
  BOOST_TEST(plots[0] == run.out + " validation");
  BOOST_TEST(result.report["curves"] == "");  // the plot said it drew nothing
  auto said = [&](const std::string& start) {
    for (const std::string& line : messages)
      if (line.rfind(start, 0) == 0) return true;
    return false;
  };
  BOOST_TEST(said("data: train 72 examples"));
  BOOST_TEST(said("epoch 1: validation accuracy"));
  BOOST_TEST(said("epoch 2: validation accuracy"));
}

BOOST_AUTO_TEST_CASE(a_stop_request_saves_and_the_resumed_run_ends_as_if_never_stopped) {
  auto communicator = sf::make_communicator();
  (void)sf::train(options("whole"), *communicator);

  sf::TrainOptions first = options("stopped");
  std::int64_t polls = 0;
  first.events.stop_requested = [&] { return ++polls == 5; };
  sf::Trainer trainer(first, *communicator, [](const sf::TaskPaths& paths, const sf::ResolvedConfig& resolved,
                                                sf::Communicator& comm, const sf::MessageSink& messages) {
    return sf::make_classification_task(paths, resolved.model, resolved.training, comm, messages);
  });
  BOOST_TEST(trainer.run().interrupted);
  BOOST_TEST(trainer.state().step == 5);
  BOOST_TEST(fs::exists(directory / "stopped" / "last.safetensors"));
  BOOST_TEST(!fs::exists(directory / "stopped" / "report.json"));

  sf::TrainOptions second = options("stopped");
  second.overrides.clear();
  second.resume = true;
  const sf::TrainResult resumed = sf::train(second, *communicator);
  BOOST_TEST(!resumed.interrupted);
  BOOST_TEST(losses("stopped") == losses("whole"));  // bit for bit, 18 steps
  BOOST_TEST(losses("whole").size() == 18u);
}

BOOST_AUTO_TEST_CASE(a_run_that_ends_before_its_first_evaluation_still_has_a_best_checkpoint) {
  auto communicator = sf::make_communicator();
  const sf::TrainResult short_run = sf::train(options("short", {"max_steps=3"}), *communicator);
  BOOST_TEST(short_run.report["best_epoch"] == 1);
  BOOST_TEST(short_run.report["steps"] == 3);
  BOOST_TEST(short_run.report.contains("test"));
  BOOST_TEST(fs::exists(directory / "short" / "best.safetensors"));

  // Stopped at step 5 before any evaluation, then resumed with a max_steps below it.
  sf::TrainOptions first = options("lowered");
  std::int64_t polls = 0;
  first.events.stop_requested = [&] { return ++polls == 5; };
  BOOST_TEST(sf::train(first, *communicator).interrupted);
  BOOST_TEST(!fs::exists(directory / "lowered" / "best.safetensors"));
  sf::TrainOptions lowered = options("lowered", {"max_steps=4"});
  lowered.overrides = {"max_steps=4"};
  lowered.resume = true;
  const sf::TrainResult ended = sf::train(lowered, *communicator);
  BOOST_TEST(ended.report["steps"] == 5);
  BOOST_TEST(fs::exists(directory / "lowered" / "best.safetensors"));
  BOOST_TEST(ended.report.contains("test"));
  // And a later resume with a larger max_steps continues the run (it was not finished).
  lowered.overrides = {"max_steps=7"};
  BOOST_TEST(sf::train(lowered, *communicator).report["steps"] == 7);
}

BOOST_AUTO_TEST_CASE(a_resume_changes_only_when_the_run_stops_and_refuses_other_data_or_settings) {
  auto communicator = sf::make_communicator();
  BOOST_TEST(sf::train(options("run", {"max_steps=2"}), *communicator).report["steps"] == 2);
  auto resume = [&](std::vector<std::string> overrides) {
    sf::TrainOptions again = options("run");
    again.overrides = std::move(overrides);
    again.resume = true;
    return again;
  };
  sf::test::check_error_message([&] { (void)sf::train(resume({"learning_rate=0.01", "d_model=32"}), *communicator); },
                                "--set would change d_model, learning_rate of the run in");
  sf::test::check_error_message([&] { (void)sf::train(resume({"seed=7"}), *communicator); }, "change seed of the run");
  sf::TrainOptions other_data = resume({});
  sf::test::write_file(directory / "other" / "train.jsonl", "{\"text\": \"good\", \"label\": \"pos\"}\n");
  other_data.data = (directory / "other").string();
  sf::test::check_error_message([&] { (void)sf::train(other_data, *communicator); },
                                "is not the data the run in");
  sf::TrainOptions other_vocabulary = resume({});
  other_vocabulary.vocab = (directory / "other" / "train.jsonl").string();
  sf::test::check_error_message([&] { (void)sf::train(other_vocabulary, *communicator); },
                                "is not the vocabulary the run in");
  sf::TrainOptions other_preset = resume({});
  other_preset.config = "original-small";
  sf::test::check_error_message([&] { (void)sf::train(other_preset, *communicator); },
                                "was started from enhanced-small, not original-small");
  // What decides when the run stops may change, and the resume says so.
  sf::TrainOptions longer = resume({"max_steps=4", "log_every=2", "learning_rate=0.0005"});  // 5e-4: the preset's own
  std::vector<std::string> messages;
  longer.events.message = [&](const std::string& line) { messages.push_back(line); };
  BOOST_TEST(sf::train(longer, *communicator).report["steps"] == 4);
  BOOST_TEST((std::find(messages.begin(), messages.end(), "resume: max_steps 2 -> 4") != messages.end()));
  BOOST_TEST((std::find(messages.begin(), messages.end(), "resume: log_every 1 -> 2") != messages.end()));
}

BOOST_AUTO_TEST_CASE(a_full_disk_stops_the_run_naming_the_file_and_loses_nothing) {
  auto communicator = sf::make_communicator();
  const sf::TrainResult whole = sf::train(options("whole"), *communicator);
  const std::string kept = (directory / "kept").string();
  // An earlier checkpoint exists (step 9, the end of epoch 1); the next last.safetensors does not
  // fit: a file-size limit 4 KiB below its size (its metadata varies by a few bytes) fails its
  // write() as a full disk would, while best.safetensors (weights only) and metrics.jsonl fit.
  BOOST_TEST(sf::train(options("kept", {"max_steps=9"}), *communicator).report["steps"] == 9);
  const std::string checkpoint_bytes = sf::test::read_bytes(kept + "/last.safetensors");
  sf::TrainOptions resume = options("kept");
  resume.overrides = {"max_steps=18"};
  resume.resume = true;
  {
    sf::test::FileSizeLimit limit(checkpoint_bytes.size() - 4096);
    sf::test::check_error_message([&] { (void)sf::train(resume, *communicator); },
                                  "cannot write '" + kept + "/last.safetensors.tmp-");
  }
  BOOST_TEST(sf::test::read_bytes(kept + "/last.safetensors") == checkpoint_bytes);  // intact
  BOOST_TEST(leftovers("kept").empty());
  // Space is back: the resume continues from step 9 and ends as the run never interrupted.
  BOOST_TEST(sf::train(resume, *communicator).report["steps"] == 18);
  BOOST_TEST(losses_by_step("kept") == losses_by_step("whole"));
  BOOST_TEST(whole.report["test"] == sf::train(resume, *communicator).report["test"]);

  // metrics.jsonl: a line that does not fit is an error naming the file, and no partial line stays.
  const std::string grown = (directory / "grown").string();
  BOOST_TEST(sf::train(options("grown"), *communicator).report["steps"] == 18);
  const auto metrics_size = fs::file_size(grown + "/metrics.jsonl");
  sf::TrainOptions longer = options("grown");
  longer.overrides = {"epochs=3"};
  longer.resume = true;
  {
    sf::test::FileSizeLimit limit(metrics_size + 20);
    sf::test::check_error_message([&] { (void)sf::train(longer, *communicator); }, "cannot write " + grown + "/metrics.jsonl");
  }
  BOOST_TEST(fs::file_size(grown + "/metrics.jsonl") == metrics_size);
  BOOST_TEST(losses_by_step("grown").size() == 18u);  // every line parses
  BOOST_TEST(sf::train(longer, *communicator).report["steps"] == 27);

  // The report: an error naming report.json, the checkpoint intact, and a resume writes it later.
  const std::string blocked = (directory / "blocked").string();
  fs::create_directories(blocked + "/report.json/occupied");  // rename() cannot replace a non-empty folder
  sf::test::check_error_message([&] { (void)sf::train(options("blocked", {"max_steps=3"}), *communicator); },
                                "cannot rename '" + blocked + "/report.json.tmp-");
  BOOST_TEST(leftovers("blocked").empty());
  fs::remove_all(blocked + "/report.json");
  sf::TrainOptions again = options("blocked");
  again.overrides.clear();
  again.resume = true;
  BOOST_TEST(sf::train(again, *communicator).report["steps"] == 3);
  BOOST_TEST(fs::is_regular_file(blocked + "/report.json"));
}

BOOST_AUTO_TEST_CASE(training_state_goes_through_json_field_by_field) {
  sf::TrainingState state;
  state.step = 11;
  state.epoch = 2;
  state.batch_in_epoch = 3;
  state.best_validation_accuracy = 0.75;
  state.best_epoch = 2;
  state.evaluations_without_improvement = 1;
  state.patience_best = 0.5;
  state.nonfinite_in_row = 4;
  state.nonfinite_total = 6;
  state.elapsed_seconds = 1.25;
  state.tokens_seen = 4096;
  state.finished = true;
  state.best_validation = {{"accuracy", 0.75}};
  const nlohmann::json json = state.to_json();
  BOOST_TEST(json.size() == 13u);
  const sf::TrainingState back = sf::TrainingState::from_json(json, "state.json");
  BOOST_TEST(back.to_json() == json);
  BOOST_TEST(back.patience_best == 0.5);
  BOOST_TEST(back.finished);

  nlohmann::json older = json;  // checkpoints from before patience_best
  older.erase("patience_best");
  BOOST_TEST(sf::TrainingState::from_json(older, "old").patience_best == 0.75);
  nlohmann::json incomplete = json;
  incomplete.erase("tokens_seen");
  incomplete.erase("epoch");
  sf::test::check_error_message([&] { (void)sf::TrainingState::from_json(incomplete, "last.safetensors"); },
                                "last.safetensors: the training state in the checkpoint is incomplete: no epoch, tokens_seen");
  nlohmann::json mistyped = json;
  mistyped["step"] = "eleven";
  sf::test::check_error_message([&] { (void)sf::TrainingState::from_json(mistyped, "x"); },
                                "x: the training state's 'step' has the wrong type: \"eleven\"");
}

BOOST_AUTO_TEST_SUITE_END()
