// The constants of Philox4x32-10 (Salmon et al., SC'11) and of this project's counter layout,
// shared by the scalar generator (random.cpp) and the vectorized kernels (kernels/random_bits.cpp),
// which must produce the same bits.
#pragma once

#include <cstdint>

namespace sf::philox {

inline constexpr std::uint32_t kMultiplier0 = 0xD2511F53u, kMultiplier1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
// Block `index` of a generator uses the counter {lo(index), hi(index), kCounterWord2, 0}.
inline constexpr std::uint32_t kCounterWord2 = 0x5F3759DFu;

}  // namespace sf::philox
