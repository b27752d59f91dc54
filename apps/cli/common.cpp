#include "common.hpp"

#include <sstream>

#include "sf/core/parallel.hpp"
#include "sf/nn/checkpoint.hpp"
#include "sf/swarmformer/trainer.hpp"

namespace sf::cli {

std::unique_ptr<SwarmFormer> load_model(const std::string& checkpoint, const std::string& preset_or_config,
                                        const std::vector<std::string>& input_overrides) {
  const SafetensorsHeader header = read_safetensors_header(checkpoint);
  SwarmFormerConfig config;
  if (!preset_or_config.empty()) {
    config = load_config(preset_or_config);
  } else if (header.metadata.contains("config") && header.metadata["config"].contains("model")) {
    config = SwarmFormerConfig::from_json(header.metadata["config"]["model"], checkpoint + " (stored config)");
  } else {
    fail("{}: the file stores no model config; pass --preset NAME or --config FILE to say which model it holds", checkpoint);
  }
  for (const std::string& assignment : input_overrides) {
    const std::string key = assignment.substr(0, assignment.find('='));
    if (key != "truncation" && key != "truncation_head" && key != "eval_windows")
      fail("--set {}: only the input fields truncation, truncation_head and eval_windows can be changed here", assignment);
    config.set(assignment, "--set");
  }
  auto model = std::make_unique<SwarmFormer>(config, 0);
  nn::load_checkpoint(checkpoint, *model, nullptr, /*strict=*/true);
  model->eval();
  return model;
}

std::vector<std::int64_t> read_id_lines(std::istream& input, const std::string& source, const SwarmFormerConfig& config,
                                        std::int64_t& count) {
  std::vector<std::int64_t> ids;
  std::string line;
  count = 0;
  std::int64_t line_number = 0;
  while (std::getline(input, line)) {
    ++line_number;
    std::istringstream tokens(line);
    std::vector<std::int64_t> row;
    std::string token;
    while (tokens >> token) {
      std::size_t used = 0;
      long long value = 0;
      try {
        value = std::stoll(token, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != token.size())
        fail("{}:{}: '{}' is not a token id", source, line_number, token);
      if (value < 0 || value >= config.vocab_size)
        fail("{}:{}: token id {} out of range [0, {})", source, line_number, value, config.vocab_size);
      row.push_back(value);
    }
    row.resize(static_cast<std::size_t>(config.seq_len), config.pad_id);
    ids.insert(ids.end(), row.begin(), row.end());
    ++count;
  }
  if (count == 0) fail("{}: no lines of token ids", source);
  return ids;
}

void add_input_overrides_option(CLI::App* command, std::vector<std::string>& overrides) {
  command->add_option("--set", overrides,
                      "change how texts are framed: truncation=head|tail|head_tail, truncation_head=N, eval_windows=K");
}

void add_threads_option(CLI::App* command, int& threads) {
  command->add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
}

void apply_threads(int threads) { parallel::set_num_threads(threads); }

}  // namespace sf::cli
