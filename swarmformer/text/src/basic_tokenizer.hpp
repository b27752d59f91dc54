// BERT's BasicTokenizer (text -> words) for the uncased models (internal header).
//
// It reproduces, step by step, what Hugging Face's slow BertTokenizer(do_lower_case=True,
// tokenize_chinese_chars=True, strip_accents=None) does before WordPiece:
//   0. special tokens ([CLS], [SEP], ...) written literally in the text are cut out first and
//      kept whole (PreTrainedTokenizer.tokenize's added-token trie);
//   1. clean: drop U+0000, U+FFFD and every category C* character except \t \n \r;
//      turn \t \n \r and Zs characters into spaces;
//   2. put spaces around CJK ideographs (BERT's code-point ranges);
//   3. split on whitespace (Python's str.split(), which also splits on U+2028 / U+2029);
//   4. per whitespace token: lower-case each character, NFD, drop Mn marks;
//   5. split each token on punctuation (ASCII 33-47, 58-64, 91-96, 123-126 and category P*),
//      each punctuation character becoming a word of its own.
// swarmformer/README.md ("Tokenizer") explains each rule and the cases where references differ.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sf::detail {

struct SpecialToken {
  std::string text;
  std::int32_t id;
};

// Receives the basic tokenizer's output in order.
class BasicTokenSink {
 public:
  virtual ~BasicTokenSink() = default;
  // One word (UTF-8, never empty) and its length in code points. Returns false to stop.
  virtual bool word(std::string_view text, std::int64_t characters) = 0;
  // A special token found literally in the text. Returns false to stop.
  virtual bool special(std::int32_t id) = 0;
};

// Runs steps 0-5 over `text`, feeding `sink`. Throws sf::Error naming the byte offset when `text`
// is not valid UTF-8. Allocates only a few scratch buffers per call, never per character.
void basic_tokenize(std::string_view text, const std::vector<SpecialToken>& specials, BasicTokenSink& sink);

}  // namespace sf::detail
