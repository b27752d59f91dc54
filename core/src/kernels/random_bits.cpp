// Vectorized Philox4x32-10 and the dropout mask (see random_bits.hpp for the contract).
//
// One Philox round on counter words (c0, c1, c2, c3) with key (k0, k1):
//   p0 = 0xD2511F53 · c0,  p1 = 0xCD9E8D57 · c2          (32 × 32 → 64 bits)
//   (c0, c1, c2, c3) ← (hi(p1) ⊕ c1 ⊕ k0, lo(p1), hi(p0) ⊕ c3 ⊕ k1, lo(p0))
//   (k0, k1) ← (k0 + 0x9E3779B9, k1 + 0xBB67AE85)        (mod 2^32)
// Ten rounds make a block. Here each word is a Batch<uint64_t> whose lanes hold the values of
// consecutive counters; as they stay below 2^32, a lane multiply is the exact 64-bit product.
#include "sf/core/kernels/random_bits.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>

#include "../philox_constants.hpp"
#include "sf/core/kernels/simd.hpp"
#include "sf/core/random.hpp"

namespace sf::kernels {
namespace {

using Lanes = simd::Batch<std::uint64_t>;
constexpr std::int64_t kLanes = simd::lanes<std::uint64_t>;
constexpr std::uint64_t kLow32 = 0xFFFFFFFFull;
using philox::kWeyl0;
using philox::kWeyl1;

// Counters per call of philox_group: kGroup independent vectors, whose rounds interleave. One
// vector's ten rounds are a chain of dependent multiplies; four in flight keep the multiplier busy.
constexpr std::int64_t kGroup = 4;
constexpr std::int64_t kGroupCounters = kGroup * kLanes;

// The four words of the blocks first, first + 1, ..., first + kGroupCounters - 1, word-major:
// out[w][counter - first].
void philox_group(std::uint64_t seed, std::uint64_t first, std::uint64_t (&out)[4][kGroupCounters]) {
  alignas(64) std::uint64_t low[kGroupCounters], high[kGroupCounters];
  for (std::int64_t index = 0; index < kGroupCounters; ++index) {
    const std::uint64_t counter = first + static_cast<std::uint64_t>(index);
    low[index] = counter & kLow32;
    high[index] = counter >> 32;
  }
  Lanes c0[kGroup], c1[kGroup], c2[kGroup], c3[kGroup];
  for (std::int64_t group = 0; group < kGroup; ++group) {
    c0[group] = Lanes::load_aligned(low + group * kLanes);
    c1[group] = Lanes::load_aligned(high + group * kLanes);
    c2[group] = Lanes(std::uint64_t{philox::kCounterWord2});
    c3[group] = Lanes(std::uint64_t{0});
  }
  const Lanes mask(kLow32), multiplier0(std::uint64_t{philox::kMultiplier0}),
      multiplier1(std::uint64_t{philox::kMultiplier1});
  std::uint32_t key0 = static_cast<std::uint32_t>(seed), key1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const Lanes round_key0(static_cast<std::uint64_t>(key0)), round_key1(static_cast<std::uint64_t>(key1));
#pragma GCC unroll 4
    for (std::int64_t group = 0; group < kGroup; ++group) {
      const Lanes product0 = multiplier0 * c0[group], product1 = multiplier1 * c2[group];
      const Lanes next0 = (product1 >> 32) ^ c1[group] ^ round_key0;
      const Lanes next2 = (product0 >> 32) ^ c3[group] ^ round_key1;
      c1[group] = product1 & mask;
      c3[group] = product0 & mask;
      c0[group] = next0;
      c2[group] = next2;
    }
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  for (std::int64_t group = 0; group < kGroup; ++group) {
    c0[group].store_aligned(out[0] + group * kLanes);
    c1[group].store_aligned(out[1] + group * kLanes);
    c2[group].store_aligned(out[2] + group * kLanes);
    c3[group].store_aligned(out[3] + group * kLanes);
  }
}

// Counters per parallel task: a multiple of kGroupCounters, so tasks start on a group boundary
// (the bits do not depend on it either way).
constexpr std::int64_t kCountersPerTask = 1 << 12;

}  // namespace

void philox_blocks(std::uint64_t seed, std::uint64_t first_counter, std::int64_t count, std::uint32_t* words) {
  parallel::parallel_for(0, count, kCountersPerTask, [&](std::int64_t begin, std::int64_t end) {
    alignas(64) std::uint64_t block[4][kGroupCounters];
    for (std::int64_t start = begin; start < end; start += kGroupCounters) {
      philox_group(seed, first_counter + static_cast<std::uint64_t>(start), block);
      const std::int64_t valid = std::min<std::int64_t>(kGroupCounters, end - start);
      for (std::int64_t lane = 0; lane < valid; ++lane)
        for (int word = 0; word < 4; ++word)
          words[4 * (start + lane) + word] = static_cast<std::uint32_t>(block[word][lane]);
    }
  });
}

void philox_blocks_reference(std::uint64_t seed, std::uint64_t first_counter, std::int64_t count,
                             std::uint32_t* words) {
  const Generator generator(seed);
  for (std::int64_t index = 0; index < count; ++index) {
    const auto block = generator.block(first_counter + static_cast<std::uint64_t>(index));
    for (int word = 0; word < 4; ++word) words[4 * index + word] = block[static_cast<std::size_t>(word)];
  }
}

namespace {

// The mask values of the 4·kGroupCounters elements served by counters first, first + 1, ...,
// element-major (element 4·counter + word), into out. The keep decision is made on whole vectors
// and yields the bit pattern of kept_value or of 0: a branch per element would be mispredicted
// half the time (the decisions are random).
template <class T>
class MaskValues {
 public:
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  static_assert(sizeof(Bits) == sizeof(T));
  MaskValues(std::uint64_t seed, std::uint64_t keep_threshold, T kept_value)
      : seed_(seed), threshold_(keep_threshold), kept_(bits_of(kept_value)), dropped_(std::uint64_t{0}) {}

  void operator()(std::uint64_t first, T* out) const {
    alignas(64) std::uint64_t block[4][kGroupCounters];
    philox_group(seed_, first, block);
    for (int word = 0; word < 4; ++word)
      for (std::int64_t lane0 = 0; lane0 < kGroupCounters; lane0 += kLanes) {
        const Lanes words = Lanes::load_aligned(block[word] + lane0);
        xsimd::select(words < threshold_, kept_, dropped_).store_aligned(block[word] + lane0);
      }
    for (std::int64_t counter = 0; counter < kGroupCounters; ++counter)
      for (int word = 0; word < 4; ++word) {
        const auto bits = static_cast<Bits>(block[word][counter]);
        std::memcpy(out + 4 * counter + word, &bits, sizeof(T));
      }
  }

 private:
  static std::uint64_t bits_of(T value) {
    Bits bits;
    std::memcpy(&bits, &value, sizeof(T));
    return bits;
  }
  std::uint64_t seed_;
  Lanes threshold_, kept_, dropped_;
};

}  // namespace

template <class T>
void dropout_mask(std::uint64_t seed, std::uint64_t first_counter, std::int64_t skip, std::uint64_t keep_threshold,
                  T kept_value, T* mask, std::int64_t count) {
  // Draw d = e + skip is element e's. A whole vector of counters whose elements all lie in the
  // mask is written in place; the edges (and every vector when skip > 0) go through L1.
  const MaskValues<T> mask_values(seed, keep_threshold, kept_value);
  const std::int64_t counters = (count + skip + 3) / 4;
  parallel::parallel_for(0, counters, kCountersPerTask, [&](std::int64_t begin, std::int64_t end) {
    alignas(64) T values[4 * kGroupCounters];
    for (std::int64_t start = begin; start < end; start += kGroupCounters) {
      const std::uint64_t first = first_counter + static_cast<std::uint64_t>(start);
      if (skip == 0 && start + kGroupCounters <= end && 4 * (start + kGroupCounters) <= count) {
        mask_values(first, mask + 4 * start);
        continue;
      }
      mask_values(first, values);
      // Elements [first_element, last_element) of this vector; value index = element + skip - 4·start.
      const std::int64_t first_element = std::max<std::int64_t>(0, 4 * start - skip);
      const std::int64_t last_element =
          std::min<std::int64_t>(count, 4 * std::min(start + kGroupCounters, end) - skip);
      const T* from = values + (first_element + skip - 4 * start);
      std::copy(from, from + (last_element - first_element), mask + first_element);
    }
  });
}

template <class T>
void dropout_apply(std::uint64_t seed, std::uint64_t first_counter, std::int64_t skip, std::uint64_t keep_threshold,
                   T kept_value, const T* x, T* y, std::uint8_t* keep, std::int64_t count) {
  // Draw d = e + skip serves element e. Per vector of counters the mask values go to a buffer in
  // L1 (what dropout_mask stores), then multiply the inputs they cover.
  const MaskValues<T> mask_values(seed, keep_threshold, kept_value);
  const std::int64_t counters = (count + skip + 3) / 4;
  parallel::parallel_for(0, counters, kCountersPerTask, [&](std::int64_t begin, std::int64_t end) {
    alignas(64) T factors[4 * kGroupCounters];
    for (std::int64_t start = begin; start < end; start += kGroupCounters) {
      mask_values(first_counter + static_cast<std::uint64_t>(start), factors);
      // Elements [first, last) of this vector of counters; factor index = element + skip - 4·start.
      const std::int64_t first = std::max<std::int64_t>(0, 4 * start - skip);
      const std::int64_t last = std::min<std::int64_t>(count, 4 * std::min(start + kGroupCounters, end) - skip);
      const T* __restrict factor = factors + (first + skip - 4 * start);
      const T* __restrict source = x + first;
      T* __restrict destination = y + first;
      for (std::int64_t i = 0; i < last - first; ++i) destination[i] = source[i] * factor[i];
      if (keep != nullptr) {
        std::uint8_t* __restrict kept = keep + first;
        for (std::int64_t i = 0; i < last - first; ++i) kept[i] = factor[i] != T(0) ? 1 : 0;
      }
    }
  });
}

template <class T>
void dropout_mask_reference(std::uint64_t seed, std::uint64_t first_counter, std::uint64_t keep_threshold,
                            T kept_value, T* mask, std::int64_t count) {
  const Generator generator(seed);
  for (std::int64_t element = 0; element < count; ++element) {
    const auto block = generator.block(first_counter + static_cast<std::uint64_t>(element / 4));
    mask[element] = block[static_cast<std::size_t>(element % 4)] < keep_threshold ? kept_value : T(0);
  }
}

template void dropout_mask<float>(std::uint64_t, std::uint64_t, std::int64_t, std::uint64_t, float, float*,
                                  std::int64_t);
template void dropout_mask<double>(std::uint64_t, std::uint64_t, std::int64_t, std::uint64_t, double, double*,
                                   std::int64_t);
template void dropout_apply<float>(std::uint64_t, std::uint64_t, std::int64_t, std::uint64_t, float, const float*,
                                   float*, std::uint8_t*, std::int64_t);
template void dropout_apply<double>(std::uint64_t, std::uint64_t, std::int64_t, std::uint64_t, double, const double*,
                                    double*, std::uint8_t*, std::int64_t);
template void dropout_mask_reference<float>(std::uint64_t, std::uint64_t, std::uint64_t, float, float*, std::int64_t);
template void dropout_mask_reference<double>(std::uint64_t, std::uint64_t, std::uint64_t, double, double*,
                                             std::int64_t);

}  // namespace sf::kernels
