// Pieces shared by the subcommands.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sf/swarmformer/classifier.hpp"
#include "sf/swarmformer/model.hpp"

namespace sf::cli {

// Adds --set key=value for the input fields and the precision to eval/predict.
void add_input_overrides_option(CLI::App* command, std::vector<std::string>& overrides);
// Removes the "precision=…" assignments from `overrides` and returns the last one's value
// (fp32 | bf16 | auto; "fp32" when none), so that the rest are input fields.
std::string take_precision(std::vector<std::string>& overrides);

// Lines of whitespace-separated token ids -> row-major [count, seq_len], padded with pad_id or
// truncated. Throws naming the file and line for anything that is not an id in [0, vocab).
std::vector<std::int64_t> read_id_lines(std::istream& input, const std::string& source, const SwarmFormerConfig& config,
                                        std::int64_t& count);

// Adds --threads (0 = all cores) to a subcommand; apply_threads() sets it.
void add_threads_option(CLI::App* command, int& threads);
void apply_threads(int threads);

}  // namespace sf::cli
