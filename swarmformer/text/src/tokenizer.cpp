// WordPiece over the basic tokenizer's words, and the vocabulary's lookup tables.
//
// WordPiece (Schuster & Nakajima 2012; BERT's WordpieceTokenizer): for each word, starting at
// character 0, take the longest prefix that is in the vocabulary, then the longest continuation
// "##…" from where it ended, and so on. If some position has no match at all the whole word is
// [UNK] (not just the rest), and a word over 100 characters is [UNK] without trying.
//
// Lookups: two open-addressing hash tables over string_view keys — one of all entries (for a
// word's first piece) and one of the "##" entries with the prefix removed (for continuations),
// so no "##" + piece string is ever built. A lookup longer than the longest key is never tried.
#include "sf/swarmformer/tokenizer.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "basic_tokenizer.hpp"
#include "sf/swarmformer/hashing.hpp"
#include "sf/core/error.hpp"
#include "utf8.hpp"

namespace sf {
namespace {

constexpr std::int64_t max_word_characters = 100;  // the reference's max_input_chars_per_word

// string_view -> id, linear probing over a power-of-two table at most half full.
class TokenTable {
 public:
  void insert(std::string_view key, std::int32_t id) { entries_.push_back({std::string(key), id}); }

  // Builds the table from the inserted entries; a later entry with the same key wins.
  void build() {
    std::size_t capacity = 16;
    while (capacity < 2 * entries_.size()) capacity *= 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (std::size_t index = 0; index < entries_.size(); ++index) {
      const std::string_view key = entries_[index].key;
      if (key.size() > longest_) longest_ = key.size();
      const std::uint64_t hash = detail::fnv1a(key);
      for (std::size_t slot = hash & mask_;; slot = (slot + 1) & mask_) {
        Slot& candidate = slots_[slot];
        if (candidate.entry < 0) {
          candidate = {hash, static_cast<std::int32_t>(index)};
          break;
        }
        if (candidate.hash == hash && entries_[static_cast<std::size_t>(candidate.entry)].key == key) {
          candidate.entry = static_cast<std::int32_t>(index);
          break;
        }
      }
    }
  }

  std::int32_t find(std::string_view key) const {
    if (key.size() > longest_) return -1;
    const std::uint64_t hash = detail::fnv1a(key);
    for (std::size_t slot = hash & mask_;; slot = (slot + 1) & mask_) {
      const Slot& candidate = slots_[slot];
      if (candidate.entry < 0) return -1;
      if (candidate.hash == hash) {
        const Entry& entry = entries_[static_cast<std::size_t>(candidate.entry)];
        if (entry.key == key) return entry.id;
      }
    }
  }

  std::size_t longest() const { return longest_; }

 private:
  struct Entry {
    std::string key;
    std::int32_t id;
  };
  struct Slot {
    std::uint64_t hash = 0;
    std::int32_t entry = -1;  // index into entries_, -1 when empty
  };
  std::vector<Entry> entries_;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t longest_ = 0;
};

}  // namespace

struct WordPieceTokenizer::Vocabulary {
  std::vector<std::string> tokens;
  TokenTable whole;         // every entry
  TokenTable continuation;  // "##x" entries, keyed by "x"
  std::vector<detail::SpecialToken> specials;
  std::int32_t pad = -1, unknown = -1, classifier = -1, separator = -1;
  std::uint64_t hash = 0;
};

namespace {

// Segments one word into `pieces`; returns false when the word is [UNK].
bool word_pieces(const WordPieceTokenizer::Vocabulary& vocabulary, std::string_view word, std::int64_t characters,
                 std::vector<std::int32_t>& pieces) {
  pieces.clear();
  if (characters > max_word_characters) return false;
  const auto is_continuation_byte = [&](std::size_t position) {
    return (static_cast<unsigned char>(word[position]) & 0xC0) == 0x80;
  };
  std::size_t start = 0;
  while (start < word.size()) {
    const TokenTable& table = start == 0 ? vocabulary.whole : vocabulary.continuation;
    // Longest candidate first; never longer than the longest key, always ending on a character
    // boundary (the reference slices a list of characters).
    std::size_t end = std::min(word.size(), start + table.longest());
    while (end < word.size() && end > start && is_continuation_byte(end)) --end;
    std::int32_t found = -1;
    while (end > start) {
      found = table.find(word.substr(start, end - start));
      if (found >= 0) break;
      --end;
      while (end > start && is_continuation_byte(end)) --end;
    }
    if (found < 0) return false;
    pieces.push_back(found);
    start = end;
  }
  return true;
}

// Basic tokens -> ids; each id goes to `emit`, which returns false to stop.
template <class Emit>
class WordPieceSink final : public detail::BasicTokenSink {
 public:
  WordPieceSink(const WordPieceTokenizer::Vocabulary& vocabulary, Emit emit) : vocabulary_(vocabulary), emit_(emit) {
    pieces_.reserve(32);
  }
  bool word(std::string_view text, std::int64_t characters) override {
    if (!word_pieces(vocabulary_, text, characters, pieces_)) return emit_(vocabulary_.unknown);
    for (const std::int32_t id : pieces_)
      if (!emit_(id)) return false;
    return true;
  }
  bool special(std::int32_t id) override { return emit_(id); }

 private:
  const WordPieceTokenizer::Vocabulary& vocabulary_;
  Emit emit_;
  std::vector<std::int32_t> pieces_;
};

template <class Emit>
void for_each_id(const WordPieceTokenizer::Vocabulary& vocabulary, std::string_view text, Emit emit) {
  WordPieceSink<Emit> sink(vocabulary, emit);
  detail::basic_tokenize(text, vocabulary.specials, sink);
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::unique_ptr<Vocabulary> vocabulary) : vocabulary_(std::move(vocabulary)) {}
WordPieceTokenizer::WordPieceTokenizer(WordPieceTokenizer&&) noexcept = default;
WordPieceTokenizer& WordPieceTokenizer::operator=(WordPieceTokenizer&&) noexcept = default;
WordPieceTokenizer::~WordPieceTokenizer() = default;

WordPieceTokenizer WordPieceTokenizer::from_file(const std::string& vocab_path) {
  std::ifstream stream(vocab_path, std::ios::binary);
  if (!stream) fail("cannot open vocabulary file {} (expected a BERT vocab.txt, one token per line)", vocab_path);
  std::ostringstream content;
  content << stream.rdbuf();
  if (stream.bad()) fail("error while reading vocabulary file {}", vocab_path);
  const std::string text = content.str();
  std::vector<std::string> tokens;
  std::size_t line_begin = 0;
  while (line_begin < text.size()) {
    std::size_t line_end = text.find('\n', line_begin);
    if (line_end == std::string::npos) line_end = text.size();
    std::string_view line(text.data() + line_begin, line_end - line_begin);
    // The reference strips only "\n"; a "\r" left by a Windows editor would silently make every
    // entry unmatchable, so it is stripped too.
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (const std::size_t bad = utf8::first_invalid(line); bad != utf8::npos)
      fail("{}:{}: invalid UTF-8 at byte {} of the line", vocab_path, tokens.size() + 1, bad);
    tokens.emplace_back(line);
    line_begin = line_end + 1;
  }
  return from_tokens(std::move(tokens), vocab_path);
}

WordPieceTokenizer WordPieceTokenizer::from_tokens(std::vector<std::string> tokens, const std::string& source) {
  auto vocabulary = std::make_unique<Vocabulary>();
  vocabulary->tokens = std::move(tokens);
  const std::vector<std::string>& entries = vocabulary->tokens;
  if (entries.size() > static_cast<std::size_t>(INT32_MAX)) fail("{}: too many tokens ({})", source, entries.size());
  std::uint64_t hash = detail::fnv1a_integer(entries.size(), detail::fnv1a_offset_basis);
  for (std::size_t index = 0; index < entries.size(); ++index) {
    const std::string& token = entries[index];
    const auto id = static_cast<std::int32_t>(index);
    vocabulary->whole.insert(token, id);
    if (token.starts_with("##")) vocabulary->continuation.insert(std::string_view(token).substr(2), id);
    hash = detail::fnv1a_integer(token.size(), detail::fnv1a(token, hash));
  }
  vocabulary->hash = hash;
  vocabulary->whole.build();
  vocabulary->continuation.build();

  const auto required = [&](const char* name) {
    const std::int32_t id = vocabulary->whole.find(name);
    if (id < 0) fail("{}: the vocabulary has no {} token (is this a BERT vocab.txt?)", source, name);
    return id;
  };
  vocabulary->pad = required("[PAD]");
  vocabulary->unknown = required("[UNK]");
  vocabulary->classifier = required("[CLS]");
  vocabulary->separator = required("[SEP]");
  // BertTokenizer's special tokens; written literally in a text they are kept whole.
  for (const char* name : {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"}) {
    const std::int32_t id = vocabulary->whole.find(name);
    if (id >= 0) vocabulary->specials.push_back({name, id});
  }
  return WordPieceTokenizer(std::move(vocabulary));
}

std::vector<std::string> WordPieceTokenizer::tokenize(std::string_view text) const {
  std::vector<std::string> tokens;
  for_each_id(*vocabulary_, text, [&](std::int32_t id) {
    tokens.push_back(vocabulary_->tokens[static_cast<std::size_t>(id)]);
    return true;
  });
  return tokens;
}

std::vector<std::int32_t> WordPieceTokenizer::encode(std::string_view text) const {
  std::vector<std::int32_t> ids{vocabulary_->classifier};
  for_each_id(*vocabulary_, text, [&](std::int32_t id) {
    ids.push_back(id);
    return true;
  });
  ids.push_back(vocabulary_->separator);
  return ids;
}

std::vector<std::int32_t> WordPieceTokenizer::encode(std::string_view text, std::int64_t seq_len) const {
  SF_CHECK(seq_len >= 2, "tokenizer: seq_len must be at least 2 (room for [CLS] and [SEP]), got {}", seq_len);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(seq_len));
  encode_into(text, seq_len, ids.data());
  return ids;
}

std::int64_t WordPieceTokenizer::encode_into(std::string_view text, std::int64_t seq_len, std::int32_t* output) const {
  SF_CHECK(seq_len >= 2, "tokenizer: seq_len must be at least 2 (room for [CLS] and [SEP]), got {}", seq_len);
  // Truncation keeps the first seq_len - 2 pieces; tokenizing stops as soon as they are known,
  // which makes long reviews cheap at small seq_len.
  const std::int64_t last = seq_len - 1;  // the [SEP] slot
  std::int64_t count = 0;
  output[count++] = vocabulary_->classifier;
  if (count < last) {
    for_each_id(*vocabulary_, text, [&](std::int32_t id) {
      output[count++] = id;
      return count < last;
    });
  }
  output[count++] = vocabulary_->separator;
  for (std::int64_t index = count; index < seq_len; ++index) output[index] = vocabulary_->pad;
  return count;
}

std::string Framing::key() const { return fmt::format("{}:{}:w{}", truncation, head, windows); }

std::int64_t WordPieceTokenizer::frame(std::string_view text, std::int64_t seq_len, const Framing& framing,
                                       std::vector<std::int32_t>& output) const {
  SF_CHECK(seq_len >= 2, "tokenizer: seq_len must be at least 2 (room for [CLS] and [SEP]), got {}", seq_len);
  SF_CHECK(framing.windows >= 1, "tokenizer: framing needs at least one window, got {}", framing.windows);
  const std::size_t first_row = output.size();
  if (framing.truncation == "head" && framing.windows == 1) {  // the fast path: stops reading at seq_len
    output.resize(first_row + static_cast<std::size_t>(seq_len));
    encode_into(text, seq_len, output.data() + first_row);
    return 1;
  }
  std::vector<std::int32_t> pieces;
  for_each_id(*vocabulary_, text, [&](std::int32_t id) {
    pieces.push_back(id);
    return true;
  });
  const auto count = static_cast<std::int64_t>(pieces.size());
  const std::int64_t room = seq_len - 2;
  auto emit = [&](std::initializer_list<std::pair<std::int64_t, std::int64_t>> spans) {  // [begin, end) of pieces
    output.push_back(vocabulary_->classifier);
    for (const auto& [begin, end] : spans) output.insert(output.end(), pieces.begin() + begin, pieces.begin() + end);
    output.push_back(vocabulary_->separator);
    output.resize(first_row + ((output.size() - first_row + static_cast<std::size_t>(seq_len) - 1) /
                               static_cast<std::size_t>(seq_len)) * static_cast<std::size_t>(seq_len),
                  vocabulary_->pad);
  };
  if (count <= room) {
    emit({{0, count}});
    return 1;
  }
  if (framing.windows == 1) {
    if (framing.truncation == "head") emit({{0, room}});
    else if (framing.truncation == "tail") emit({{count - room, count}});
    else if (framing.truncation == "head_tail") {
      const std::int64_t head = std::min(room, framing.head > 0 ? framing.head : seq_len / 2);
      emit({{0, head}, {count - (room - head), count}});
    } else {
      fail("tokenizer: unknown truncation \"{}\" (head, tail or head_tail)", framing.truncation);
    }
    return 1;
  }
  const std::int64_t rows = std::min(framing.windows, (count + room - 1) / room);
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int64_t start =
        rows == 1 ? 0 : std::llround(static_cast<double>(row * (count - room)) / static_cast<double>(rows - 1));
    emit({{start, start + room}});
  }
  return rows;
}

std::int64_t WordPieceTokenizer::vocabulary_size() const { return static_cast<std::int64_t>(vocabulary_->tokens.size()); }

std::int32_t WordPieceTokenizer::id_of(std::string_view token) const { return vocabulary_->whole.find(token); }

const std::string& WordPieceTokenizer::token_of(std::int32_t id) const {
  SF_CHECK(id >= 0 && id < vocabulary_size(), "tokenizer: id {} is outside the vocabulary [0, {})", id, vocabulary_size());
  return vocabulary_->tokens[static_cast<std::size_t>(id)];
}

std::uint64_t WordPieceTokenizer::vocabulary_hash() const { return vocabulary_->hash; }
std::int32_t WordPieceTokenizer::pad_id() const { return vocabulary_->pad; }
std::int32_t WordPieceTokenizer::unknown_id() const { return vocabulary_->unknown; }
std::int32_t WordPieceTokenizer::classifier_id() const { return vocabulary_->classifier; }
std::int32_t WordPieceTokenizer::separator_id() const { return vocabulary_->separator; }

}  // namespace sf
