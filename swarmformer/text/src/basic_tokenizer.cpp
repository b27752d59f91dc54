// BERT's BasicTokenizer; the rules are listed in basic_tokenizer.hpp.
//
// Speed: IMDB is >99.9% ASCII, so ASCII bytes go through 128-entry tables and are lower-cased
// while the whitespace token is collected; a token holding only ASCII is then split on punctuation
// in place, with no decoding at all. Only tokens with a non-ASCII character take the Unicode path
// (utf8proc: category, simple lower-case mapping, canonical decomposition).
#include "basic_tokenizer.hpp"

#include <utf8proc.h>

#include <array>
#include <utility>

#include "sf/core/error.hpp"
#include "utf8.hpp"

namespace sf::detail {
namespace {

// What step 1 does with an ASCII byte.
enum class AsciiAction : unsigned char { keep, whitespace, drop, bracket };

constexpr std::array<AsciiAction, 128> make_ascii_actions() {
  std::array<AsciiAction, 128> actions{};
  for (int byte = 0; byte < 128; ++byte) {
    if (byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r') {
      actions[byte] = AsciiAction::whitespace;
    } else if (byte < 32 || byte == 127) {
      // Category Cc (NUL, \v, \f, the C0 separators \x1c-\x1f, DEL, ...): BERT's _is_control is
      // checked before _is_whitespace, so \v and \f are removed, not turned into spaces.
      actions[byte] = AsciiAction::drop;
    } else if (byte == '[') {
      actions[byte] = AsciiAction::bracket;  // may open a special token such as [SEP]
    } else {
      actions[byte] = AsciiAction::keep;
    }
  }
  return actions;
}
constexpr std::array<AsciiAction, 128> ascii_actions = make_ascii_actions();

// BERT counts every non-alphanumeric printable ASCII character as punctuation ($, +, <, ^, `, |, ~
// are symbols in Unicode, punctuation here).
constexpr bool is_ascii_punctuation(unsigned code_point) {
  return (code_point >= 33 && code_point <= 47) || (code_point >= 58 && code_point <= 64) ||
         (code_point >= 91 && code_point <= 96) || (code_point >= 123 && code_point <= 126);
}

constexpr std::array<char, 128> make_ascii_lower() {
  std::array<char, 128> lower{};
  for (int byte = 0; byte < 128; ++byte) lower[byte] = static_cast<char>(byte >= 'A' && byte <= 'Z' ? byte + 32 : byte);
  return lower;
}
constexpr std::array<char, 128> ascii_lower = make_ascii_lower();

// BERT's _is_chinese_char: the CJK Unified Ideographs blocks and extensions A-E plus the two
// compatibility-ideograph blocks. Hiragana, Katakana and Hangul are *not* in it.
constexpr bool is_chinese_character(char32_t code_point) {
  return (code_point >= 0x4E00 && code_point <= 0x9FFF) || (code_point >= 0x3400 && code_point <= 0x4DBF) ||
         (code_point >= 0x20000 && code_point <= 0x2A6DF) || (code_point >= 0x2A700 && code_point <= 0x2B73F) ||
         (code_point >= 0x2B740 && code_point <= 0x2B81F) || (code_point >= 0x2B820 && code_point <= 0x2CEAF) ||
         (code_point >= 0xF900 && code_point <= 0xFAFF) || (code_point >= 0x2F800 && code_point <= 0x2FA1F);
}

utf8proc_category_t category_of(char32_t code_point) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(code_point));
}

bool is_punctuation(char32_t code_point) {
  if (code_point < 128) return is_ascii_punctuation(code_point);
  switch (category_of(code_point)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

// What step 1 does with a non-ASCII character.
enum class CharacterAction { keep, whitespace, drop, chinese };

CharacterAction classify(char32_t code_point) {
  if (code_point == 0xFFFD) return CharacterAction::drop;
  switch (category_of(code_point)) {
    // Hugging Face's _is_control is `category.startswith("C")`: control (Cc, e.g. IMDB's U+0085,
    // U+0091, U+0096, U+0097), format (Cf), private use (Co), surrogate (Cs) and unassigned (Cn).
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CN:
      return CharacterAction::drop;
    // Zs becomes a space in _clean_text; Zl / Zp (U+2028, U+2029) survive cleaning but
    // Python's str.split() treats them as whitespace, so they separate tokens too.
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      return CharacterAction::whitespace;
    default:
      return is_chinese_character(code_point) ? CharacterAction::chinese : CharacterAction::keep;
  }
}

// One call of basic_tokenize: the scratch buffers and the sink.
class Splitter {
 public:
  Splitter(const std::vector<SpecialToken>& specials, BasicTokenSink& sink) : specials_(specials), sink_(sink) {
    token_.reserve(256);
    word_.reserve(256);
    code_points_.reserve(256);
  }

  void run(std::string_view text) {
    std::size_t position = 0;
    while (position < text.size() && !stopped_) {
      const auto byte = static_cast<unsigned char>(text[position]);
      if (byte < 0x80) {
        switch (ascii_actions[byte]) {
          case AsciiAction::keep:
            token_.push_back(ascii_lower[byte]);  // step 4's lower-casing, done early for ASCII
            break;
          case AsciiAction::whitespace:
            flush_token();
            break;
          case AsciiAction::drop:
            break;
          case AsciiAction::bracket:
            if (const SpecialToken* special = special_at(text.substr(position))) {
              flush_token();
              if (!stopped_) stopped_ = !sink_.special(special->id);
              position += special->text.size();
              continue;
            }
            token_.push_back('[');
            break;
        }
        ++position;
        continue;
      }
      char32_t code_point = 0;
      const int length = utf8::decode(text, position, code_point);
      if (length == 0)
        fail("tokenizer: invalid UTF-8 at byte {} of the text (bytes {})", position, utf8::describe_bytes(text, position));
      switch (classify(code_point)) {
        case CharacterAction::keep:
          token_.append(text.data() + position, static_cast<std::size_t>(length));
          token_ascii_ = false;
          break;
        case CharacterAction::whitespace:
          flush_token();
          break;
        case CharacterAction::drop:
          break;
        case CharacterAction::chinese:
          // Spaces around it: the ideograph is a whitespace token of its own.
          flush_token();
          token_.append(text.data() + position, static_cast<std::size_t>(length));
          token_ascii_ = false;
          flush_token();
          break;
      }
      position += static_cast<std::size_t>(length);
    }
    flush_token();
  }

 private:
  const SpecialToken* special_at(std::string_view rest) const {
    for (const SpecialToken& special : specials_)
      if (rest.starts_with(special.text)) return &special;
    return nullptr;
  }

  void emit(std::string_view word, std::int64_t characters) {
    if (!stopped_ && !word.empty()) stopped_ = !sink_.word(word, characters);
  }

  // Steps 4-5 for the whitespace token collected so far.
  void flush_token() {
    if (!token_.empty() && !stopped_) {
      if (token_ascii_) {
        split_ascii_token();
      } else {
        split_unicode_token();
      }
    }
    token_.clear();
    token_ascii_ = true;
  }

  // Already lower-cased; ASCII has no marks to strip: only the punctuation split remains.
  void split_ascii_token() {
    const std::string_view token = token_;
    std::size_t word_begin = 0;
    for (std::size_t index = 0; index < token.size(); ++index) {
      if (is_ascii_punctuation(static_cast<unsigned char>(token[index]))) {
        emit(token.substr(word_begin, index - word_begin), static_cast<std::int64_t>(index - word_begin));
        emit(token.substr(index, 1), 1);
        word_begin = index + 1;
      }
    }
    emit(token.substr(word_begin), static_cast<std::int64_t>(token.size() - word_begin));
  }

  void split_unicode_token() {
    // Lower-case each character, then decompose canonically (NFD). Lower-casing first is what
    // the reference does (token.lower() then NFD). utf8proc_tolower is the simple mapping;
    // Python's full mapping differs only for U+0130 (-> "i" + U+0307), and the U+0307 it adds is
    // an Mn mark that the next step removes, so the results agree.
    code_points_.clear();
    std::size_t position = 0;
    while (position < token_.size()) {
      char32_t code_point = 0;
      const int length = utf8::decode(token_, position, code_point);  // valid: checked in run()
      position += static_cast<std::size_t>(length);
      const auto lower = utf8proc_tolower(static_cast<utf8proc_int32_t>(code_point));
      utf8proc_int32_t decomposed[32];
      int boundary_class = 0;
      const auto count = utf8proc_decompose_char(lower, decomposed, 32, UTF8PROC_DECOMPOSE, &boundary_class);
      for (utf8proc_ssize_t index = 0; index < count && index < 32; ++index)
        code_points_.push_back(static_cast<char32_t>(decomposed[index]));
    }
    reorder_marks();
    // Drop Mn marks, split on punctuation.
    word_.clear();
    std::int64_t characters = 0;
    for (const char32_t code_point : code_points_) {
      if (code_point >= 128 && category_of(code_point) == UTF8PROC_CATEGORY_MN) continue;
      if (is_punctuation(code_point)) {
        emit(word_, characters);
        word_.clear();
        characters = 0;
        std::string punctuation;
        utf8::append(punctuation, code_point);
        emit(punctuation, 1);
        continue;
      }
      utf8::append(word_, code_point);
      ++characters;
    }
    emit(word_, characters);
  }

  // NFD's canonical ordering: within each run of combining characters (combining class != 0),
  // a stable sort by combining class. It can only matter for marks that survive the Mn filter,
  // but it keeps this step an exact NFD.
  void reorder_marks() {
    const auto combining_class = [](char32_t code_point) {
      return code_point < 0x300 ? 0 : utf8proc_get_property(static_cast<utf8proc_int32_t>(code_point))->combining_class;
    };
    for (std::size_t index = 1; index < code_points_.size(); ++index) {
      const auto current_class = combining_class(code_points_[index]);
      if (current_class == 0) continue;
      std::size_t position = index;
      while (position > 0) {
        const auto previous_class = combining_class(code_points_[position - 1]);
        if (previous_class == 0 || previous_class <= current_class) break;
        std::swap(code_points_[position - 1], code_points_[position]);
        --position;
      }
    }
  }

  const std::vector<SpecialToken>& specials_;
  BasicTokenSink& sink_;
  std::string token_;        // the current whitespace token, cleaned, ASCII already lower-cased
  bool token_ascii_ = true;  // token_ holds only ASCII bytes
  std::string word_;
  std::u32string code_points_;
  bool stopped_ = false;
};

}  // namespace

void basic_tokenize(std::string_view text, const std::vector<SpecialToken>& specials, BasicTokenSink& sink) {
  Splitter(specials, sink).run(text);
}

}  // namespace sf::detail
