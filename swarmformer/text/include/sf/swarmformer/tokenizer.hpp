// BERT-uncased WordPiece tokenizer: text -> token ids equal to Hugging Face's
// BertTokenizer(vocab.txt, do_lower_case=True) — `[CLS] pieces… [SEP]`, truncated and padded.
//
// Pipeline (details and every rule with its reason: swarmformer/README.md, "Tokenizer"):
//   basic tokenizer  clean text, space out CJK ideographs, split on whitespace, lower-case,
//                    strip accents (NFD, drop Mn), split on punctuation -> words
//   WordPiece        per word, greedy longest match first: "unaffable" -> un ##aff ##able;
//                    a word with no segmentation, or longer than 100 characters, -> [UNK]
//
// Input must be valid UTF-8: invalid bytes throw sf::Error naming their byte offset (a caller
// that knows the file and line adds them). The tokenizer is immutable after loading, so one
// instance may be used from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sf {

// How a text becomes rows of seq_len ids, each `[CLS] pieces… [SEP] [PAD]…` with room for
// W = seq_len - 2 pieces. A text of n <= W pieces is one row. A longer one is
//   windows = 1:  one row of W pieces: the first W ("head"), the last W ("tail"), or the first
//                 `head` and the last W - head ("head_tail"; head 0 means seq_len / 2)
//   windows = K:  k = min(K, ceil(n / W)) rows of W consecutive pieces, the j-th starting at
//                 round(j (n - W) / (k - 1)): the first starts at piece 0, the last ends at piece n
//                 (truncation does not apply)
struct Framing {
  std::string truncation = "head";
  std::int64_t head = 0;
  std::int64_t windows = 1;

  // A short text that identifies the framing (part of token-cache keys), e.g. "head_tail:128:w1".
  std::string key() const;
};

class WordPieceTokenizer {
 public:
  // Reads a vocab.txt: one token per line, the id is the line number (0-based). A token listed
  // twice keeps its last id, as in the reference's load_vocab. [PAD], [UNK], [CLS] and [SEP]
  // must be present.
  static WordPieceTokenizer from_file(const std::string& vocab_path);
  // The same from tokens already in memory (`source` names them in error messages).
  static WordPieceTokenizer from_tokens(std::vector<std::string> tokens, const std::string& source = "vocabulary");

  // The WordPiece tokens of `text`, without [CLS]/[SEP] ("Hello!" -> hello, !).
  std::vector<std::string> tokenize(std::string_view text) const;
  // [CLS] ids… [SEP], untruncated and unpadded.
  std::vector<std::int32_t> encode(std::string_view text) const;
  // [CLS] ids… [SEP] truncated so the total is at most seq_len (the [SEP] is kept), then padded
  // with the [PAD] id (0 in BERT's vocabulary) to exactly seq_len. seq_len must be >= 2.
  std::vector<std::int32_t> encode(std::string_view text, std::int64_t seq_len) const;
  // The same, written into `output` (seq_len ids); returns how many are not padding.
  std::int64_t encode_into(std::string_view text, std::int64_t seq_len, std::int32_t* output) const;
  // The rows of `framing` (see Framing), appended to `output`; returns how many rows.
  std::int64_t frame(std::string_view text, std::int64_t seq_len, const Framing& framing,
                     std::vector<std::int32_t>& output) const;

  std::int64_t vocabulary_size() const;
  // The id of a vocabulary entry, or -1 when `token` is not one.
  std::int32_t id_of(std::string_view token) const;
  // The entry with this id; throws sf::Error when id is outside [0, vocabulary_size()).
  const std::string& token_of(std::int32_t id) const;
  // A 64-bit hash of the whole vocabulary (every token, in order): the key of tokenized caches.
  std::uint64_t vocabulary_hash() const;

  std::int32_t pad_id() const;
  std::int32_t unknown_id() const;
  std::int32_t classifier_id() const;  // [CLS]
  std::int32_t separator_id() const;   // [SEP]

  WordPieceTokenizer(WordPieceTokenizer&&) noexcept;
  WordPieceTokenizer& operator=(WordPieceTokenizer&&) noexcept;
  ~WordPieceTokenizer();

  struct Vocabulary;  // the lookup tables (tokenizer.cpp)

 private:
  explicit WordPieceTokenizer(std::unique_ptr<Vocabulary> vocabulary);
  std::unique_ptr<Vocabulary> vocabulary_;
};

}  // namespace sf
