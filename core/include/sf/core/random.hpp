// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
//
// A Generator is just (seed, offset). Element i of a draw of n values is a pure function of
// (seed, offset + i), so a draw filled by any number of threads in any order gives the same
// values, and the generator's whole state is two integers that a checkpoint can store.
// After a draw of n values the offset advances by n.
//
// Data parallelism (Generator::Shard): when a batch is split over processes, a draw reserves the
// counters of the whole batch and each process fills its own rows from their place in it, so every
// row gets the same noise whichever process holds it, and 1, 2 or 4 processes train alike.
#pragma once

#include <array>
#include <cstdint>

#include "sf/core/tensor.hpp"

namespace sf {

// One Philox4x32-10 block: 128 random bits from a 128-bit counter and a 64-bit key.
std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> counter, std::array<std::uint32_t, 2> key);

struct Generator {
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;

  // The batch split: the outermost dimension of every draw is a batch of `rows` rows, of which
  // this process holds rows [first, first + local). rows == 0 (the default): a draw is the whole
  // batch. Not part of the state a checkpoint stores; the trainer sets it for each step.
  struct Shard {
    std::int64_t rows = 0, first = 0, local = 0;
  };
  Shard shard;
  // Where a draw's values start: value `skip` of counter `first` (values_per_counter per block).
  struct Placement {
    std::uint64_t first = 0;
    std::int64_t skip = 0;
  };

  Generator() = default;
  explicit Generator(std::uint64_t seed_value, std::uint64_t offset_value = 0)
      : seed(seed_value), offset(offset_value) {}

  // The four 32-bit words for counter value `index` (no state change).
  std::array<std::uint32_t, 4> block(std::uint64_t index) const;
  // Reserves `count` counter values and returns the first; the caller uses block(first + i).
  std::uint64_t reserve(std::uint64_t count) {
    const std::uint64_t first = offset;
    offset += count;
    return first;
  }
  // Reserves the counters of a draw of `count` values, `values_per_counter` per Philox block: for
  // the whole batch when sharded (count must then be `shard.local` whole rows), and says where this
  // process's values start. Unsharded it is reserve(ceil(count / values_per_counter)), skip 0.
  Placement reserve_draw(std::int64_t count, std::int64_t values_per_counter);
  // A generator for an independent stream (e.g. one per data-loader epoch), derived from seed.
  Generator fork(std::uint64_t stream) const;
  // Scalars, consuming one counter value each.
  double next_uniform();                   // [0, 1)
  std::uint64_t next_below(std::uint64_t bound);  // [0, bound)
};

// Conversions of Philox words to numbers, shared by every consumer so they agree.
inline float uniform_float(std::uint32_t word) { return static_cast<float>(word >> 8) * (1.0f / 16777216.0f); }
inline double uniform_double(std::uint32_t high, std::uint32_t low) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(high) << 21) ^ (low >> 11);
  return static_cast<double>(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// In-place fills; each element consumes one counter value (parallel, thread-count independent).
void uniform_(Tensor& tensor, Generator& generator, double low = 0.0, double high = 1.0);
void normal_(Tensor& tensor, Generator& generator, double mean = 0.0, double stddev = 1.0);
void bernoulli_(Tensor& tensor, Generator& generator, double probability);  // 1 with probability p, else 0

// Factories over the fills.
Tensor uniform(const Shape& shape, Generator& generator, double low = 0.0, double high = 1.0,
               DType dtype = DType::Float32);
Tensor normal(const Shape& shape, Generator& generator, double mean = 0.0, double stddev = 1.0,
              DType dtype = DType::Float32);
Tensor bernoulli(const Shape& shape, Generator& generator, double probability, DType dtype = DType::Float32);

}  // namespace sf
