#include "common.hpp"

#include <sstream>

#include "sf/core/error.hpp"
#include "sf/core/parallel.hpp"
#include "sf/swarmformer/config.hpp"

namespace sf::cli {

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
                      "change how texts are framed: truncation=head|tail|head_tail, truncation_head=N, eval_windows=K; "
                      "or the arithmetic of the matrix products: precision=fp32|bf16|auto (auto: bf16 where the CPU "
                      "has AVX512-BF16)");
}

std::string take_precision(std::vector<std::string>& overrides) {
  std::string precision = "fp32";
  std::vector<std::string> rest;
  for (const std::string& assignment : overrides) {
    if (assignment.rfind("precision=", 0) != 0) {
      rest.push_back(assignment);
      continue;
    }
    precision = assignment.substr(std::string("precision=").size());
    if (precision != "fp32" && precision != "bf16" && precision != "auto")
      fail("--set {}: precision must be fp32, bf16 or auto here (fp64 is for training checks only)", assignment);
  }
  overrides = std::move(rest);
  return precision;
}

void add_threads_option(CLI::App* command, int& threads) {
  command->add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
}

void apply_threads(int threads) { parallel::set_num_threads(threads); }

}  // namespace sf::cli
