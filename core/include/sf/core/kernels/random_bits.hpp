// Philox4x32-10 for runs of counters, vectorized across counters, and the dropout mask built on it.
//
// Block `index` of generator `seed` is philox4x32({lo(index), hi(index), 0x5F3759DF, 0},
// {lo(seed), hi(seed)}) (sf/core/random.hpp). The vector form holds each of the four 32-bit
// words of Batch<uint64_t>::size consecutive counters in 64-bit lanes, so the 32×32 → 64-bit
// products Philox needs are exact lane multiplies. Integer arithmetic only: the vector and the
// scalar form give the same bits, for any vector width and any thread count.
#pragma once

#include <cstdint>

namespace sf::kernels {

// words[4·i + w] = word w of block (first_counter + i), for i in [0, count).
void philox_blocks(std::uint64_t seed, std::uint64_t first_counter, std::int64_t count, std::uint32_t* words);
void philox_blocks_reference(std::uint64_t seed, std::uint64_t first_counter, std::int64_t count,
                             std::uint32_t* words);

// Dropout mask of `count` elements from the counters first_counter, first_counter + 1, ...:
// draw d uses word d % 4 of block (first_counter + d / 4), so one block serves four draws, and
// is kept — set to `kept_value` — iff that word is below keep_threshold = round(keep
// probability · 2^32); dropped elements are 0. Element e is draw e + skip (skip in [0, 4): the
// first element starts inside block first_counter, as a shard of a split batch does; its first
// `skip` words are not used). The decision is an integer comparison, so float32 and float64 masks
// of one draw agree element for element.
template <class T>
void dropout_mask(std::uint64_t seed, std::uint64_t first_counter, std::int64_t skip, std::uint64_t keep_threshold,
                  T kept_value, T* mask, std::int64_t count);
// Dropout in one pass, without a mask array: y[e] = x[e] · m and keep[e] = [m ≠ 0], where m is
// what dropout_mask gives element e with the same skip. keep may be null. The same bits as
// dropout_mask, then x ⊙ mask, then the byte mask: m is 0 or kept_value either way and the
// product is one rounding.
template <class T>
void dropout_apply(std::uint64_t seed, std::uint64_t first_counter, std::int64_t skip, std::uint64_t keep_threshold,
                   T kept_value, const T* x, T* y, std::uint8_t* keep, std::int64_t count);
template <class T>
void dropout_mask_reference(std::uint64_t seed, std::uint64_t first_counter, std::uint64_t keep_threshold,
                            T kept_value, T* mask, std::int64_t count);

}  // namespace sf::kernels
