// Strict UTF-8 decoding shared by the tokenizer and the dataset loaders (internal header), on
// utf8proc (already the tokenizer's Unicode tables).
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

#include <utf8proc.h>

namespace sf::utf8 {

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

// Decodes the code point starting at text[position]. On success stores it in `code_point`, returns
// the sequence length (1..4); on an ill-formed sequence returns 0. utf8proc_iterate checks exactly
// table 3-7 (the lead byte's range, the second byte's range after E0, ED, F0 and F4, continuation
// bytes, truncation); ASCII is answered without the call.
inline int decode(std::string_view text, std::size_t position, char32_t& code_point) {
  const auto lead = static_cast<unsigned char>(text[position]);
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  utf8proc_int32_t value = 0;
  const utf8proc_ssize_t length = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + position),
                                                   static_cast<utf8proc_ssize_t>(text.size() - position), &value);
  if (length <= 0) return 0;
  code_point = static_cast<char32_t>(value);
  return static_cast<int>(length);
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
  utf8proc_uint8_t bytes[4];
  const utf8proc_ssize_t length = utf8proc_encode_char(static_cast<utf8proc_int32_t>(code_point), bytes);
  output.append(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(length));
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
