// Data-parallel `swarmformer train` end to end: this test starts the real binary, alone and under
// `mpirun --allow-run-as-root --oversubscribe -np 2`, on a tiny JSONL dataset it writes itself
// and the real BERT vocabulary (SF_VOCAB, SF_DATA_DIR/vocab, or ../shared/data/vocab next to the
// source tree), or, where none is found, a small vocabulary it writes itself.
//
//   2 ranks with global batch G follow 1 process with G: the losses of all 21 steps within 1e-5
//     relative, the final weights within 1e-6 (one step has an empty share on rank 0);
//   the bucket size and overlap on/off change nothing (bit for bit, dropout on);
//   with dropout and Gumbel noise on, 1 process, 2 and 4 ranks give the same losses (1e-6);
//   a 2-rank run with dropout stopped and resumed equals the uninterrupted run, bit for bit;
//   a 2-rank run resumes on 1 process and ends like the 1-process run; with the noise on, a
//     2-rank run resumes on 1 process or on 4 ranks and follows the uninterrupted 2-rank run;
//   SIGKILL of rank 1 mid-epoch ends the job with an error naming rank 1, last.safetensors still
//     loads (model and optimizer), and --resume runs to the end;
//   `pretrain` (masked LM) on 2 ranks follows 1 process.
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "sf/nn/checkpoint.hpp"
#include "sf/nn/safetensors.hpp"
#include "sf/swarmformer/model.hpp"
#include "sf/swarmformer/trainer.hpp"

namespace sf {
namespace {

namespace fs = std::filesystem;

fs::path work_directory(const std::string& name);

// The BERT vocabulary when it is found (SF_VOCAB, SF_DATA_DIR/vocab, ../shared/data/vocab next to
// the source tree; SF_VOCAB=none skips the search), else a small vocabulary written here with the
// special tokens and every word of the test data, so the tests run on a bare checkout too.
struct Vocabulary {
  std::string path;
  std::int64_t size = 0;
};

const std::vector<std::string>& positive_words() {
  static const std::vector<std::string> words = {"good", "great", "excellent", "wonderful", "enjoyed", "brilliant", "superb", "fun"};
  return words;
}
const std::vector<std::string>& negative_words() {
  static const std::vector<std::string> words = {"bad", "awful", "terrible", "boring", "poor", "worst", "dull", "weak"};
  return words;
}
const std::vector<std::string>& filler_words() {
  static const std::vector<std::string> words = {"the", "movie", "film", "plot", "actor", "scene", "story", "music",
                                                 "it", "was", "and", "a", "of", "with", "this", "ending"};
  return words;
}

const Vocabulary& vocabulary() {
  static const Vocabulary found = [] {
    std::vector<fs::path> candidates;
    const char* vocab = std::getenv("SF_VOCAB");
    if (vocab && *vocab && std::string(vocab) != "none") candidates.emplace_back(vocab);
    if (const char* data = std::getenv("SF_DATA_DIR")) candidates.push_back(fs::path(data) / "vocab/bert-base-uncased-vocab.txt");
    candidates.push_back(fs::path(SF_SOURCE_DIR) / "../shared/data/vocab/bert-base-uncased-vocab.txt");
    if (!(vocab && std::string(vocab) == "none"))
      for (const fs::path& candidate : candidates)
        if (fs::is_regular_file(candidate)) return Vocabulary{fs::canonical(candidate).string(), 30522};
    const fs::path path = work_directory("vocabulary") / "vocab.txt";
    std::ofstream stream(path);
    std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};  // [PAD] is id 0
    for (const auto* words : {&positive_words(), &negative_words(), &filler_words()})
      tokens.insert(tokens.end(), words->begin(), words->end());
    for (const std::string& token : tokens) stream << token << '\n';
    const auto size = static_cast<std::int64_t>(tokens.size());
    std::printf("mpi training tests: no BERT vocabulary found, using a generated one (%lld tokens)\n",
                static_cast<long long>(size));
    return Vocabulary{path.string(), size};
  }();
  return found;
}

fs::path work_directory(const std::string& name) {
  const fs::path directory = fs::path(SF_BINARY_DIR) / "mpi_test_runs" / name;
  fs::remove_all(directory);
  fs::create_directories(directory);
  return directory;
}

// 179 labelled reviews (89 negative, 90 positive) and 40 test ones: after the 10% validation
// split 161 train rows remain, so with batch 8 the 21st step has one row (rank 0's share is empty).
fs::path write_dataset() {
  static const fs::path directory = [] {
    const fs::path path = work_directory("data");
    const auto &positive = positive_words(), &negative = negative_words(), &filler = filler_words();
    std::mt19937 random(7);
    auto review = [&](int label) {
      std::string text;
      const auto& sentiment = label == 1 ? positive : negative;
      for (int word = 0; word < 20 + static_cast<int>(random() % 40); ++word) {
        text += word ? " " : "";
        text += random() % 4 == 0 ? sentiment[random() % sentiment.size()] : filler[random() % filler.size()];
      }
      return text;
    };
    auto write = [&](const std::string& file, int negatives, int positives) {
      std::ofstream stream(path / file);
      for (int index = 0; index < negatives + positives; ++index) {
        const int label = index < 2 * std::min(negatives, positives) ? index % 2 : (negatives > positives ? 0 : 1);
        stream << nlohmann::json{{"text", review(label)}, {"label", label}}.dump() << '\n';
      }
    };
    write("train.jsonl", 89, 90);
    write("test.jsonl", 20, 20);
    return path;
  }();
  return directory;
}

// A small enhanced model; `noise` false turns dropout and Gumbel noise off, so that runs on
// different rank counts compute the same function.
std::vector<std::string> training_arguments(const fs::path& out, bool noise, std::vector<std::string> extra = {}) {
  std::vector<std::string> arguments = {
      SF_SWARMFORMER_BINARY, "train", "--data", write_dataset().string(), "--vocab", vocabulary().path, "--out",
      out.string(), "--no-progress", "--threads", "1", "--preset", "enhanced-small"};
  std::vector<std::string> settings = {"d_model=32", "seq_len=64", "feedback_hidden=16", "batch_size=8", "epochs=1",
                                       "log_every=1", "learning_rate=0.003", "eval_batch_size=32",
                                       "check_parameters_every=1"};
  if (!noise)
    for (const char* field : {"embedding_dropout", "local_dropout", "attention_dropout", "attention_output_dropout",
                              "broadcast_dropout", "classifier_dropout"})
      settings.push_back(std::string(field) + "=0");
  if (!noise) settings.emplace_back("gumbel_softmax=false");
  if (vocabulary().size != 30522) settings.push_back("vocab_size=" + std::to_string(vocabulary().size));
  settings.insert(settings.end(), extra.begin(), extra.end());
  for (const std::string& setting : settings) arguments.insert(arguments.end(), {"--set", setting});
  return arguments;
}

std::vector<std::string> on_ranks(int ranks, std::vector<std::string> arguments) {
  if (ranks == 0) return arguments;  // one plain process, no MPI
  std::vector<std::string> command = {SF_MPIEXEC, "--allow-run-as-root", "--oversubscribe", "-np", std::to_string(ranks)};
  command.insert(command.end(), arguments.begin(), arguments.end());
  return command;
}

// Starts `command` with stdout and stderr into `log`; returns the child's pid.
pid_t spawn(const std::vector<std::string>& command, const fs::path& log) {
  std::vector<char*> argv;
  for (const std::string& argument : command) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int file = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(file, 1);
    ::dup2(file, 2);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

std::string read_text(const fs::path& path) {
  std::ifstream stream(path);
  std::stringstream text;
  text << stream.rdbuf();
  return text.str();
}

// Waits for `pid` (killing it after `timeout_seconds`); returns its exit status, or -1 on a timeout.
int wait_for(pid_t pid, double timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGTERM);
      std::this_thread::sleep_for(std::chrono::seconds(2));
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs to the end; fails the test (showing the log) unless it exits 0.
void run(int ranks, const std::vector<std::string>& arguments, const fs::path& log) {
  const int status = wait_for(spawn(on_ranks(ranks, arguments), log), 100);
  BOOST_REQUIRE_MESSAGE(status == 0, "exit status " << status << "; log " << log << ":\n" << read_text(log));
}

std::map<std::int64_t, double> step_losses(const fs::path& run_directory) {
  std::map<std::int64_t, double> losses;
  std::ifstream stream(run_directory / "metrics.jsonl");
  for (std::string line; std::getline(stream, line);) {
    const nlohmann::json entry = nlohmann::json::parse(line);
    if (entry.at("type") == "train") losses[entry.at("step").get<std::int64_t>()] = entry.at("last_loss").get<double>();
  }
  return losses;
}

std::map<std::string, std::vector<double>> checkpoint_tensors(const fs::path& path) {
  std::map<std::string, std::vector<double>> tensors;
  for (const auto& [name, tensor] : load_safetensors(path.string()).tensors) tensors[name] = tensor.to_vector();
  return tensors;
}

void check_losses_close(const std::map<std::int64_t, double>& losses, const std::map<std::int64_t, double>& reference,
                        std::int64_t first_step, double tolerance = 1e-5) {
  for (const auto& [step, loss] : reference) {
    if (step < first_step) continue;
    BOOST_TEST_INFO("step " << step);
    BOOST_REQUIRE(losses.count(step));
    BOOST_TEST(std::abs(losses.at(step) - loss) <= tolerance * std::abs(loss));
  }
}

// The model's weights within 1e-6 (a few float32 ulps after 21 AdamW steps). The one exception:
// an attention key bias adds the same number to every score of a query, so softmax makes its
// gradient zero in exact arithmetic; what is left is rounding noise, which AdamW's normalization
// turns into steps of learning-rate size in arbitrary directions. Those get 1e-3 (they move by up
// to 21 x 3e-3 = 0.063).
void check_weights_close(const fs::path& path, const fs::path& reference_path) {
  const auto tensors = checkpoint_tensors(path), reference = checkpoint_tensors(reference_path);
  BOOST_REQUIRE_EQUAL(tensors.size(), reference.size());
  for (const auto& [name, values] : reference) {
    if (name.rfind("optimizer.", 0) == 0) continue;
    BOOST_REQUIRE(tensors.count(name));
    const bool null_gradient = name.size() > 9 && name.compare(name.size() - 9, 9, ".key.bias") == 0;
    double largest = 0.0;
    for (std::size_t index = 0; index < values.size(); ++index)
      largest = std::max(largest, std::abs(tensors.at(name)[index] - values[index]));
    BOOST_TEST_INFO("tensor " << name);
    BOOST_TEST(largest <= (null_gradient ? 1e-3 : 1e-6));
  }
}

const fs::path& one_process_reference() {
  static const fs::path out = [] {
    const fs::path directory = work_directory("reference");
    run(0, training_arguments(directory / "run", false), directory / "log.txt");
    return directory / "run";
  }();
  return out;
}

// The pid of the rank-`rank` process started (directly or not) by `ancestor`, or 0.
pid_t find_rank(pid_t ancestor, int rank) {
  auto parent_of = [](pid_t pid) -> pid_t {
    const std::string stat = read_text(fs::path("/proc") / std::to_string(pid) / "stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(stat.substr(close + 2));
    std::string state;
    pid_t parent = 0;
    fields >> state >> parent;
    return parent;
  };
  const std::string wanted = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    pid_t up = pid;
    for (int depth = 0; depth < 4 && up > 1 && up != ancestor; ++depth) up = parent_of(up);
    if (up != ancestor || pid == ancestor) continue;
    std::string environment = read_text(entry.path() / "environ");
    std::replace(environment.begin(), environment.end(), '\0', '\n');
    if (("\n" + environment).find("\n" + wanted + "\n") != std::string::npos) return pid;
  }
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mpi_training)

BOOST_AUTO_TEST_CASE(two_ranks_follow_one_process_with_the_same_global_batch) {
  const fs::path directory = work_directory("two_ranks");
  run(2, training_arguments(directory / "run", false), directory / "log.txt");
  const auto reference = step_losses(one_process_reference()), losses = step_losses(directory / "run");
  BOOST_REQUIRE_EQUAL(reference.size(), 21u);
  BOOST_REQUIRE_EQUAL(losses.size(), 21u);
  check_losses_close(losses, reference, 1);
  check_weights_close(directory / "run/last.safetensors", one_process_reference() / "last.safetensors");
  BOOST_TEST(fs::exists(directory / "run/report.json"));
}

// 8 steps on 2 ranks with dropout and Gumbel noise on, one blocking allreduce per parameter.
const fs::path& two_rank_noisy_reference() {
  static const fs::path out = [] {
    const fs::path directory = work_directory("noisy_reference");
    run(2, training_arguments(directory / "run", true, {"allreduce_bucket_mb=0", "allreduce_overlap=false", "max_steps=8"}),
        directory / "log.txt");
    return directory / "run";
  }();
  return out;
}

// Masked-LM pretraining on the same trainer: the masks come from (seed, epoch, row, position) and
// the loss is averaged over the global batch's chosen tokens, so 2 ranks follow 1 process.
BOOST_AUTO_TEST_CASE(pretraining_on_two_ranks_follows_one_process) {
  const fs::path directory = work_directory("pretrain_ranks");
  auto pretraining = [](const fs::path& out) {
    std::vector<std::string> arguments = training_arguments(out, /*noise=*/false, {"max_steps=6"});
    arguments[1] = "pretrain";
    return arguments;
  };
  run(0, pretraining(directory / "one"), directory / "one.txt");
  run(2, pretraining(directory / "two"), directory / "two.txt");
  const auto reference = step_losses(directory / "one"), losses = step_losses(directory / "two");
  BOOST_REQUIRE_EQUAL(reference.size(), 6u);
  check_losses_close(losses, reference, 1);
  BOOST_TEST(reference.begin()->second > 1.0);  // a masked-LM loss (about ln V), not a 2-class one
}

BOOST_AUTO_TEST_CASE(bucket_size_and_overlap_change_nothing) {
  const fs::path directory = work_directory("buckets");
  const std::vector<std::vector<std::string>> variants = {{"allreduce_bucket_mb=4", "allreduce_overlap=true"},
                                                          {"allreduce_bucket_mb=0.002", "allreduce_overlap=true"}};
  const auto losses = step_losses(two_rank_noisy_reference());
  BOOST_REQUIRE_EQUAL(losses.size(), 8u);
  const auto tensors = checkpoint_tensors(two_rank_noisy_reference() / "last.safetensors");
  for (std::size_t index = 0; index < variants.size(); ++index) {
    std::vector<std::string> settings = variants[index];
    settings.emplace_back("max_steps=8");
    const fs::path out = directory / ("run" + std::to_string(index));
    run(2, training_arguments(out, /*noise=*/true, settings), directory / ("log" + std::to_string(index) + ".txt"));
    BOOST_TEST_INFO("variant " << index);
    BOOST_TEST((step_losses(out) == losses));  // exact
    BOOST_TEST((checkpoint_tensors(out / "last.safetensors") == tensors));
  }
}

// Dropout and Gumbel noise are drawn by each row's place in the global batch (Generator::Shard),
// so one process and 2 or 4 ranks draw the same noise: with it on, their losses agree within
// 1e-6 (what is left is the order of the sums over ranks).
BOOST_AUTO_TEST_CASE(noise_is_the_same_on_one_two_and_four_ranks) {
  const fs::path directory = work_directory("noisy_ranks");
  const std::vector<std::string> settings = {"allreduce_bucket_mb=0", "allreduce_overlap=false", "max_steps=8"};
  run(0, training_arguments(directory / "one", true, settings), directory / "one.txt");
  run(4, training_arguments(directory / "four", true, settings), directory / "four.txt");
  const auto one = step_losses(directory / "one");
  BOOST_REQUIRE_EQUAL(one.size(), 8u);
  BOOST_TEST_CONTEXT("2 ranks") check_losses_close(step_losses(two_rank_noisy_reference()), one, 1, 1e-6);
  BOOST_TEST_CONTEXT("4 ranks") check_losses_close(step_losses(directory / "four"), one, 1, 1e-6);
}

BOOST_AUTO_TEST_CASE(a_noisy_two_rank_run_resumes_bit_for_bit) {
  // The checkpoint's noise state is where every rank's noise continues from.
  const fs::path directory = work_directory("noisy_resume");
  run(2, training_arguments(directory / "run", true, {"allreduce_bucket_mb=0", "allreduce_overlap=false", "max_steps=4"}),
      directory / "log_first.txt");
  std::vector<std::string> resume = {SF_SWARMFORMER_BINARY, "train", "--data", write_dataset().string(), "--vocab",
                                     vocabulary().path, "--out", (directory / "run").string(), "--no-progress",
                                     "--threads", "1", "--resume", "--set", "max_steps=8"};
  run(2, resume, directory / "log_resumed.txt");
  BOOST_TEST((step_losses(directory / "run") == step_losses(two_rank_noisy_reference())));
  BOOST_TEST((checkpoint_tensors(directory / "run/last.safetensors") ==
              checkpoint_tensors(two_rank_noisy_reference() / "last.safetensors")));
}

// With the noise on too: a 2-rank run stopped at step 4 resumes on 1 process, or on 4 ranks, and
// follows the uninterrupted 2-rank run (the noise does not depend on the number of ranks).
BOOST_AUTO_TEST_CASE(a_noisy_two_rank_run_resumes_on_one_process_or_four_ranks) {
  for (const int ranks : {0, 4}) {
    const fs::path directory = work_directory("noisy_resume_on_" + std::to_string(ranks));
    run(2, training_arguments(directory / "run", true, {"allreduce_bucket_mb=0", "allreduce_overlap=false", "max_steps=4"}),
        directory / "log_first.txt");
    std::vector<std::string> resume = {SF_SWARMFORMER_BINARY, "train", "--data", write_dataset().string(), "--vocab",
                                       vocabulary().path, "--out", (directory / "run").string(), "--no-progress",
                                       "--threads", "1", "--resume", "--set", "max_steps=8"};
    run(ranks, resume, directory / "log_resumed.txt");
    BOOST_TEST_CONTEXT("resumed on " << (ranks == 0 ? 1 : ranks) << " process(es)")
    check_losses_close(step_losses(directory / "run"), step_losses(two_rank_noisy_reference()), 1, 1e-6);
  }
}

BOOST_AUTO_TEST_CASE(a_two_rank_run_resumes_on_one_process) {
  const fs::path directory = work_directory("resume");
  run(2, training_arguments(directory / "run", false, {"max_steps=8"}), directory / "log_two_ranks.txt");
  BOOST_REQUIRE_EQUAL(step_losses(directory / "run").size(), 8u);
  std::vector<std::string> resume = {SF_SWARMFORMER_BINARY, "train", "--data", write_dataset().string(), "--vocab",
                                     vocabulary().path, "--out", (directory / "run").string(), "--no-progress",
                                     "--threads", "1", "--resume", "--set", "max_steps=0"};
  run(0, resume, directory / "log_resume.txt");
  const auto losses = step_losses(directory / "run");
  BOOST_REQUIRE_EQUAL(losses.size(), 21u);
  check_losses_close(losses, step_losses(one_process_reference()), 9);
  check_weights_close(directory / "run/last.safetensors", one_process_reference() / "last.safetensors");
  BOOST_TEST(fs::exists(directory / "run/report.json"));
}

BOOST_AUTO_TEST_CASE(a_killed_rank_ends_the_job_and_the_last_checkpoint_resumes) {
  const fs::path directory = work_directory("kill");
  const fs::path out = directory / "run", checkpoint = out / "last.safetensors";
  const pid_t mpirun = spawn(on_ranks(2, training_arguments(out, true, {"epochs=3", "checkpoint_every_steps=2"})),
                             directory / "log_killed.txt");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(checkpoint) && std::chrono::steady_clock::now() < deadline && ::waitpid(mpirun, nullptr, WNOHANG) == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const pid_t victim = fs::exists(checkpoint) ? find_rank(mpirun, 1) : 0;
  if (victim > 0) ::kill(victim, SIGKILL);
  const int status = wait_for(mpirun, 60);
  const std::string log = read_text(directory / "log_killed.txt");
  BOOST_REQUIRE_MESSAGE(victim > 0, "no checkpoint or no rank 1 found; log:\n" << log);
  BOOST_TEST_INFO("log:\n" << log);
  BOOST_TEST(status != 0);   // the job ends with an error ...
  BOOST_TEST(status != -1);  // ... by itself, without hanging
  BOOST_TEST(log.find("rank 1") != std::string::npos);

  // The checkpoint is whole: checksum, model and optimizer load; it stopped mid-run.
  const SafetensorsHeader header = read_safetensors_header(checkpoint.string());
  const nlohmann::json config = header.metadata.at("config");
  SwarmFormer model(SwarmFormerConfig::from_json(config.at("model")), 0);
  nn::AdamW optimizer(nn::decay_groups(model, 0.01), {.learning_rate = 1e-3});
  const nn::LoadedCheckpoint loaded = nn::load_checkpoint(checkpoint.string(), model, &optimizer);
  const nlohmann::json state = loaded.metadata.at("training_state");
  BOOST_TEST(state.at("finished").get<bool>() == false);
  const std::int64_t stopped_at = state.at("step").get<std::int64_t>();
  BOOST_TEST_MESSAGE("rank 1 killed; last.safetensors holds step " << stopped_at << " of 63");
  BOOST_TEST(stopped_at >= 2);
  BOOST_TEST(stopped_at < 63);

  std::vector<std::string> resume = {SF_SWARMFORMER_BINARY, "train", "--data", write_dataset().string(), "--vocab",
                                     vocabulary().path, "--out", out.string(), "--no-progress", "--threads", "1", "--resume"};
  run(2, resume, directory / "log_resumed.txt");
  const nlohmann::json final_state = read_safetensors_header(checkpoint.string()).metadata.at("training_state");
  BOOST_TEST(final_state.at("finished").get<bool>());
  BOOST_TEST(final_state.at("step").get<std::int64_t>() == 63);
  BOOST_TEST(fs::exists(out / "report.json"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace sf
