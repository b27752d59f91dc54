// 64-bit FNV-1a, the one hash of the text pipeline: vocabulary identity, dataset identity, the
// tokenized cache's payload checksum, and the --init-from file hash in run reports. Not
// cryptographic; it guards against stale and corrupted files, not against an adversary.
#pragma once

#include <cstdint>
#include <string_view>

namespace sf::detail {

inline constexpr std::uint64_t fnv1a_offset_basis = 0xcbf29ce484222325ull;
inline constexpr std::uint64_t fnv1a_prime = 0x100000001b3ull;

// Hashes `bytes` continuing from `state` (so several pieces chain into one hash).
inline std::uint64_t fnv1a(std::string_view bytes, std::uint64_t state = fnv1a_offset_basis) {
  for (const char byte : bytes) {
    state ^= static_cast<unsigned char>(byte);
    state *= fnv1a_prime;
  }
  return state;
}

// Hashes the 8 little-endian bytes of an integer (lengths and labels delimit the byte pieces, so
// ("ab", "c") and ("a", "bc") hash differently).
inline std::uint64_t fnv1a_integer(std::uint64_t value, std::uint64_t state) {
  for (int index = 0; index < 8; ++index) {
    state ^= (value >> (8 * index)) & 0xFF;
    state *= fnv1a_prime;
  }
  return state;
}

}  // namespace sf::detail
