// Fuzz target: the WordPiece tokenizer on arbitrary bytes (invalid UTF-8 included), with a small
// vocabulary of whole words, pieces, CJK and accented entries, at a few sequence lengths.
#include <vector>

#include "fuzz_util.hpp"
#include "sf/swarmformer/tokenizer.hpp"

namespace {

const sf::WordPieceTokenizer& tokenizer() {
  static const sf::WordPieceTokenizer instance = sf::WordPieceTokenizer::from_tokens(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "good", "bad", "##s", "##ing", "##ed", "un",
       "##believ", "##able", "!", ".", ",", "'", "a", "e", "é", "##é", "中", "文", "##a", "##e", "x", "##x"},
      "fuzz vocabulary");
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = sf::fuzz::bytes_of(data, size);
  sf::fuzz::expect_only_clear_errors([&] {
    const std::vector<std::int32_t> ids = tokenizer().encode(text);
    for (const std::int32_t id : ids)
      if (id < 0 || id >= tokenizer().vocabulary_size()) std::abort();  // an id outside the vocabulary
    for (const std::int64_t length : {2, 3, 16}) {
      const std::vector<std::int32_t> framed = tokenizer().encode(text, length);
      if (static_cast<std::int64_t>(framed.size()) != length) std::abort();
    }
  });
  return 0;
}
