// The run's outputs for people: report.json, report.md, curves.png (and explain's routing picture).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace sf {

// Writes report.json and report.md into run_dir (atomically).
void write_report(const std::string& run_dir, const nlohmann::json& report);
// Draws loss and accuracy curves from run_dir/metrics.jsonl into run_dir/curves.png with
// gnuplot. Returns false when gnuplot is missing or fails, with the reason in `problem`.
bool plot_curves(const std::string& run_dir, const std::string& selection_label = "validation",
                 std::string* problem = nullptr);
// Draws layer `layer` of a Classifier::explain() result as a heatmap (word pieces down, clusters
// across, the routing weight as colour; the first 64 pieces) into png_path with gnuplot, its data
// in png_path + ".dat" and its messages in png_path + ".log". Returns false when gnuplot is missing
// or fails.
bool plot_routing(const nlohmann::json& explanation, std::size_t layer, const std::string& png_path);
// Writes `text` to `path` through a temporary file and a rename (never a half-written file).
void write_file_atomically(const std::string& path, const std::string& text);
// Peak resident memory of this process in MiB.
double peak_rss_megabytes();
// The git commit the binary was built from, "-dirty" if tracked files differed from it ("unknown"
// outside a git checkout); cmake/git_commit.cmake writes it at every build.
std::string build_git_commit();

}  // namespace sf
