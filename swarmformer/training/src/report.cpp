#include "sf/swarmformer/report.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sf/core/error.hpp"
#include "sf/nn/atomic_file.hpp"

namespace sf {
namespace {

std::string percent(const nlohmann::json& value) { return fmt::format("{:.2f}%", 100.0 * value.get<double>()); }

std::string metrics_table(const nlohmann::json& metrics) {
  std::string text = "| metric | value |\n| --- | ---: |\n";
  text += fmt::format("| examples | {} |\n", metrics.value("examples", 0));
  text += fmt::format("| accuracy | {} |\n", percent(metrics["accuracy"]));
  text += fmt::format("| precision | {} |\n", percent(metrics["precision"]));
  text += fmt::format("| recall | {} |\n", percent(metrics["recall"]));
  text += fmt::format("| F1 | {} |\n", percent(metrics["f1"]));
  text += fmt::format("| loss | {:.4f} |\n", metrics["loss"].get<double>());
  const auto& names = metrics["class_names"];
  const auto& confusion = metrics["confusion_matrix"];
  text += "\nConfusion matrix (rows: true class, columns: predicted):\n\n| |";
  for (const auto& name : names) text += fmt::format(" {} |", name.get<std::string>());
  text += "\n| --- |";
  for (std::size_t column = 0; column < names.size(); ++column) text += " ---: |";
  text += "\n";
  for (std::size_t row = 0; row < confusion.size(); ++row) {
    text += fmt::format("| {} |", names[row].get<std::string>());
    for (const auto& value : confusion[row]) text += fmt::format(" {} |", value.get<std::int64_t>());
    text += "\n";
  }
  return text;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& text) {
  nn::write_file_atomically(path, text, "write " + std::filesystem::path(path).filename().string());
}

void write_report(const std::string& run_dir, const nlohmann::json& report) {
  write_file_atomically(run_dir + "/report.json", report.dump(2) + "\n");
  const bool on_test = report.value("checkpoint_chosen_on", std::string("validation")) != "validation";
  std::string text = "# SwarmFormer run report\n\n";
  if (on_test)
    text += "**Checkpoint chosen on test (published protocol).** The test split chose the checkpoint, as the released "
            "SwarmFormer training does; the test accuracy below is not an unbiased estimate.\n\n";
  text += fmt::format("- model: `{}` variant, {} parameters\n", report["config"]["model"]["variant"].get<std::string>(),
                      report["parameters"].get<std::int64_t>());
  text += fmt::format("- data: `{}` ({} train, {} {}, {} test examples)\n", report["data"]["path"].get<std::string>(),
                      report["data"]["train_examples"].get<std::int64_t>(),
                      report["data"]["validation_examples"].get<std::int64_t>(),
                      on_test ? "selection (the test split itself)" : "validation",
                      report["data"]["test_examples"].get<std::int64_t>());
  if (report["data"].contains("augmentation") && !report["data"]["augmentation"].is_null())
    text += fmt::format("- augmentation of the training split: {}\n", report["data"]["augmentation"].dump());
  text += fmt::format("- checkpoint: epoch {} (best {} {}), {} optimizer steps in all\n",
                      report["best_epoch"].get<std::int64_t>(),
                      on_test ? "test, chosen on test (published protocol)" : "validation",
                      report.value("score_name", std::string("accuracy")), report["steps"].get<std::int64_t>());
  text += fmt::format("- training wall time: {:.1f} s, {:.0f} tokens/s, peak RSS {:.0f} MiB, {}\n",
                      report["wall_time_seconds"].get<double>(), report["tokens_per_second"].get<double>(),
                      report["peak_rss_mb"].get<double>(), report["parallelism"].get<std::string>());
  text += fmt::format("- git commit: `{}`\n\n", report["git_commit"].get<std::string>());
  if (!report.contains("test")) {  // pretraining: no classes, no test split
    text += fmt::format("## Validation (best, chosen on {})\n\n| metric | value |\n| --- | ---: |\n",
                        report.value("score_name", std::string("score")));
    for (const auto& [key, value] : report["validation"].items())
      text += fmt::format("| {} | {} |\n", key, value.is_number_float() ? fmt::format("{:.4f}", value.get<double>()) : value.dump());
  } else if (on_test) {
    text += "## Test (chosen on test (published protocol): the best of the per-epoch test evaluations)\n\n" +
            metrics_table(report["test"]);
  } else {
    text += "## Test (evaluated once, with the checkpoint chosen on validation)\n\n" + metrics_table(report["test"]);
    text += "\n## Validation (best epoch)\n\n" + metrics_table(report["validation"]);
  }
  text += "\n## Config\n\n```json\n" + report["config"].dump(2) + "\n```\n";
  if (report.value("curves", std::string()).size()) text += "\n![curves](curves.png)\n";
  write_file_atomically(run_dir + "/report.md", text);
}

namespace {

// A gnuplot single-quoted string: a quote inside is written twice.
std::string gnuplot_quoted(const std::string& text) {
  std::string quoted = "'";
  for (char character : text) quoted += character == '\'' ? std::string("''") : std::string(1, character);
  return quoted + "'";
}

// Runs `gnuplot script` with no shell (names with quotes or spaces are safe), stderr into `log`.
// Returns its exit status, or -1 when gnuplot cannot be started (not installed).
int run_gnuplot(const std::string& script, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string program = "gnuplot", argument = script;
  char* arguments[] = {program.data(), argument.data(), nullptr};
  pid_t child = 0;
  const int started = posix_spawnp(&child, "gnuplot", &actions, nullptr, arguments, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (started != 0) return -1;
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

bool plot_routing(const nlohmann::json& explanation, std::size_t layer, const std::string& png_path) {
  const nlohmann::json& layers = explanation.at("layers");
  if (layer >= layers.size())
    fail("plot_routing: layer {} requested, the explanation has {} layers", layer + 1, layers.size());
  const nlohmann::json& assignments = layers[layer].at("assignments");
  const std::size_t pieces = std::min<std::size_t>(64, assignments.size());
  const std::int64_t clusters = layers[layer].at("clusters").get<std::int64_t>();
  std::ostringstream data, tics;
  for (std::size_t row = 0; row < pieces; ++row) {
    for (const auto& weight : assignments[row]) data << weight.get<double>() << ' ';
    data << '\n';
    tics << (row ? ", " : "") << gnuplot_quoted(explanation.at("pieces")[row].get<std::string>()) << ' ' << row;
  }
  write_file_atomically(png_path + ".dat", data.str());
  const std::string title = fmt::format("layer {}: routing of each word piece to the {} clusters ({} = {:.2f})", layer + 1,
                                        clusters, explanation.value("label", std::string()),
                                        explanation.value("probability", 0.0));
  const std::string script = fmt::format(
      "set terminal pngcairo size 900,{}\nset output {}\nset title {} noenhanced\nset xlabel 'cluster'\n"
      "unset key\nset yrange [{}:-0.5]\nset xrange [-0.5:{}]\nset ytics ({}) font ',8' noenhanced\n"
      "set cbrange [0:1]\nset palette defined (0 'white', 1 '#08306b')\nplot {} matrix with image\n",
      200 + 14 * pieces, gnuplot_quoted(png_path), gnuplot_quoted(title), static_cast<double>(pieces) - 0.5,
      static_cast<double>(clusters) - 0.5, tics.str(), gnuplot_quoted(png_path + ".dat"));
  write_file_atomically(png_path + ".gnuplot", script);
  return run_gnuplot(png_path + ".gnuplot", png_path + ".log") == 0;
}

bool plot_curves(const std::string& run_dir, const std::string& selection_label, std::string* problem) {
  std::ifstream metrics(run_dir + "/metrics.jsonl");
  if (!metrics) {
    if (problem) *problem = fmt::format("cannot read {}/metrics.jsonl; curves.png not drawn", run_dir);
    return false;
  }
  std::ostringstream train, validation;
  std::string line;
  while (std::getline(metrics, line)) {
    const nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_discarded() || !entry.is_object()) continue;
    const std::string type = entry.value("type", "");
    if (type == "train")
      train << entry.value("step", 0) << ' ' << entry.value("loss", 0.0) << ' ' << entry.value("accuracy", 0.0) << '\n';
    else if (type == "validation")  // accuracy, or the masked-token accuracy of pretraining
      validation << entry.value("step", 0) << ' ' << entry.value("loss", 0.0) << ' '
                 << entry.value("accuracy", entry.value("masked_token_accuracy", 0.0)) << '\n';
  }
  write_file_atomically(run_dir + "/curves_train.dat", train.str());
  write_file_atomically(run_dir + "/curves_validation.dat", validation.str());
  const std::string directory = run_dir;
  const std::string script = fmt::format(
      "set terminal pngcairo size 1200,500 noenhanced\n"
      "set output {0}\n"
      "set multiplot layout 1,2\n"
      "set xlabel 'optimizer step'\nset grid\nset key top right\n"
      "set title 'loss'\n"
      "plot {1} using 1:2 with lines title 'train', "
      "{2} using 1:2 with linespoints title {3}\n"
      "set title 'accuracy'\nset key bottom right\n"
      "plot {1} using 1:3 with lines title 'train', "
      "{2} using 1:3 with linespoints title {3}\n"
      "unset multiplot\n",
      gnuplot_quoted(directory + "/curves.png"), gnuplot_quoted(directory + "/curves_train.dat"),
      gnuplot_quoted(directory + "/curves_validation.dat"), gnuplot_quoted(selection_label));
  write_file_atomically(run_dir + "/curves.gnuplot", script);
  const int status = run_gnuplot(run_dir + "/curves.gnuplot", run_dir + "/curves.log");
  if (status == -1 || status == 127) {
    if (problem) *problem = "gnuplot is not installed; curves.png not drawn (data in curves_*.dat)";
    return false;
  }
  if (status != 0) {
    if (problem) *problem = fmt::format("gnuplot failed (see {}/curves.log); curves.png not drawn", run_dir);
    return false;
  }
  return true;
}

double peak_rss_megabytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

}  // namespace sf
