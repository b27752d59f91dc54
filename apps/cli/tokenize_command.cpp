// tokenize: text lines on stdin -> token id lines on stdout, with the project's WordPiece
// tokenizer. Handy for comparing against another BERT tokenizer or feeding `forward`.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "commands.hpp"
#include "sf/core/error.hpp"
#include "sf/swarmformer/tokenizer.hpp"

namespace sf::cli {

void add_tokenize_command(CLI::App& app) {
  struct Options {
    std::string vocab;
    std::int64_t seq_len = 0;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "tokenize", "one text per stdin line -> one line of token ids ([CLS] ... [SEP]) per text on stdout");
  command->add_option("--vocab", options->vocab, "BERT vocab.txt (e.g. ../shared/data/vocab/bert-base-uncased-vocab.txt)")
      ->required();
  command->add_option("--seq-len", options->seq_len,
                      "truncate to and pad with [PAD] to exactly this many ids (default: unpadded, untruncated)")
      ->check(CLI::Range(std::int64_t{2}, std::int64_t{1} << 30));
  command->callback([options] {
    const WordPieceTokenizer tokenizer = WordPieceTokenizer::from_file(options->vocab);
    std::ios::sync_with_stdio(false);
    std::string line, output;
    std::vector<std::int32_t> ids;
    for (std::int64_t line_number = 1; std::getline(std::cin, line); ++line_number) {
      try {
        ids = options->seq_len > 0 ? tokenizer.encode(line, options->seq_len) : tokenizer.encode(line);
      } catch (const Error& error) {
        fail("stdin line {}: {}", line_number, error.what());
      }
      output.clear();
      for (std::size_t index = 0; index < ids.size(); ++index) {
        if (index > 0) output.push_back(' ');
        fmt::format_to(std::back_inserter(output), "{}", ids[index]);
      }
      output.push_back('\n');
      std::fwrite(output.data(), 1, output.size(), stdout);
    }
    if (std::cin.bad()) fail("tokenize: error while reading stdin");
    if (std::fflush(stdout) != 0) fail("tokenize: error while writing stdout");
  });
}

}  // namespace sf::cli
