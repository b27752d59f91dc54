// Strict UTF-8 decoding shared by the tokenizer and the dataset loaders (internal header).
//
// "Strict" means exactly the well-formed sequences of Unicode §3.9, table 3-7: no overlong forms,
// no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences. Python's
// `bytes.decode("utf-8")` accepts the same set, so a text that loads here is a text the reference
// tokenizer could have been given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sf::utf8 {

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

// Decodes the code point starting at text[position]. On success stores it in `code_point`, returns
// the sequence length (1..4); on an ill-formed sequence returns 0.
inline int decode(std::string_view text, std::size_t position, char32_t& code_point) {
  const auto byte = [&](std::size_t index) { return static_cast<unsigned char>(text[index]); };
  const std::size_t left = text.size() - position;
  const unsigned char lead = byte(position);
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  // Allowed ranges of the second byte depend on the lead byte (this is what rules out overlong
  // forms and surrogates); later bytes are always 0x80..0xBF.
  int length = 0;
  unsigned char second_low = 0x80, second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_low = 0xA0;
    if (lead == 0xED) second_high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_low = 0x90;
    if (lead == 0xF4) second_high = 0x8F;
  } else {
    return 0;
  }
  if (left < static_cast<std::size_t>(length)) return 0;
  const unsigned char second = byte(position + 1);
  if (second < second_low || second > second_high) return 0;
  char32_t value = lead & (0xFF >> (length + 1));
  value = (value << 6) | (second & 0x3F);
  for (int index = 2; index < length; ++index) {
    const unsigned char next = byte(position + static_cast<std::size_t>(index));
    if ((next & 0xC0) != 0x80) return 0;
    value = (value << 6) | (next & 0x3F);
  }
  code_point = value;
  return length;
}

// The byte offset of the first ill-formed sequence, or npos when `text` is valid UTF-8.
inline std::size_t first_invalid(std::string_view text) {
  std::size_t position = 0;
  while (position < text.size()) {
    // Skip ASCII eight bytes at a time: most text is ASCII.
    while (position + 8 <= text.size()) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + position, 8);
      if (word & 0x8080808080808080ull) break;
      position += 8;
    }
    if (position >= text.size()) break;
    char32_t code_point;
    const int length = decode(text, position, code_point);
    if (length == 0) return position;
    position += static_cast<std::size_t>(length);
  }
  return npos;
}

// Appends the UTF-8 encoding of a valid code point.
inline void append(std::string& output, char32_t code_point) {
  if (code_point < 0x80) {
    output.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    output.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    output.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    output.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    output.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    output.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    output.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    output.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    output.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    output.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// A short, printable description of the bytes around an invalid sequence, for error messages:
// the offending bytes in hex ("0xC3 0x28").
inline std::string describe_bytes(std::string_view text, std::size_t position, std::size_t count = 4) {
  std::string description;
  for (std::size_t index = position; index < text.size() && index < position + count; ++index) {
    static constexpr char digits[] = "0123456789ABCDEF";
    const auto value = static_cast<unsigned char>(text[index]);
    if (!description.empty()) description += ' ';
    description += "0x";
    description += digits[value >> 4];
    description += digits[value & 0xF];
  }
  return description;
}

}  // namespace sf::utf8
