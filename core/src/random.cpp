#include "sf/core/random.hpp"

#include <cmath>
#include <numbers>

#include "philox_constants.hpp"
#include "sf/core/parallel.hpp"

namespace sf {
namespace {

using philox::kMultiplier0;
using philox::kMultiplier1;
using philox::kWeyl0;
using philox::kWeyl1;

inline void multiply_high_low(std::uint32_t a, std::uint32_t b, std::uint32_t& high, std::uint32_t& low) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  high = static_cast<std::uint32_t>(product >> 32);
  low = static_cast<std::uint32_t>(product);
}

// Fills a contiguous tensor: value(i) = make(block(first + i)).
template <class Make>
void fill_from_blocks(Tensor& tensor, Generator& generator, Make&& make) {
  Tensor target = tensor.is_contiguous() ? tensor : Tensor::empty(tensor.shape(), tensor.dtype());
  const std::int64_t count = target.numel();
  const std::uint64_t first = generator.reserve_draw(count, 1).first;
  dispatch_dtype(target.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = target.data<T>();
    parallel::parallel_for(0, count, parallel::grain::elementwise / 4, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t index = begin; index < end; ++index)
        out[index] = static_cast<T>(make(generator.block(first + static_cast<std::uint64_t>(index)), T{}));
    });
  });
  if (!tensor.is_contiguous()) tensor.copy_from(target);
  tensor.bump_version();
}

}  // namespace

std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> counter, std::array<std::uint32_t, 2> key) {
  for (int round = 0; round < 10; ++round) {
    std::uint32_t high0, low0, high1, low1;
    multiply_high_low(kMultiplier0, counter[0], high0, low0);
    multiply_high_low(kMultiplier1, counter[2], high1, low1);
    counter = {high1 ^ counter[1] ^ key[0], low1, high0 ^ counter[3] ^ key[1], low0};
    key[0] += kWeyl0;
    key[1] += kWeyl1;
  }
  return counter;
}

std::array<std::uint32_t, 4> Generator::block(std::uint64_t index) const {
  return philox4x32({static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32), philox::kCounterWord2, 0u},
                    {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
}

Generator::Placement Generator::reserve_draw(std::int64_t count, std::int64_t values_per_counter) {
  const auto counters = [&](std::int64_t values) {
    return static_cast<std::uint64_t>((values + values_per_counter - 1) / values_per_counter);
  };
  if (shard.rows == 0) return {reserve(counters(count)), 0};
  if (shard.local <= 0 || shard.first < 0 || shard.first + shard.local > shard.rows || count % shard.local != 0)
    fail("Generator: a draw of {} values is not whole rows of this process's share (rows {} to {} of a batch of {})",
         count, shard.first, shard.first + shard.local, shard.rows);
  const std::int64_t row = count / shard.local, start = shard.first * row;
  const std::uint64_t base = reserve(counters(shard.rows * row));
  return {base + static_cast<std::uint64_t>(start / values_per_counter), start % values_per_counter};
}

Generator Generator::fork(std::uint64_t stream) const {
  const auto words = philox4x32({static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32), 0u, 1u},
                                {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
  return Generator((static_cast<std::uint64_t>(words[0]) << 32) | words[1], 0);
}

double Generator::next_uniform() {
  const auto words = block(reserve(1));
  return uniform_double(words[0], words[1]);
}

std::uint64_t Generator::next_below(std::uint64_t bound) {
  if (bound == 0) fail("Generator::next_below: bound must be positive");
  // Rejection sampling keeps the result exactly uniform.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
  for (;;) {
    const auto words = block(reserve(1));
    const std::uint64_t value = (static_cast<std::uint64_t>(words[0]) << 32) | words[1];
    if (value < limit) return value % bound;
  }
}

void uniform_(Tensor& tensor, Generator& generator, double low, double high) {
  const double width = high - low;
  fill_from_blocks(tensor, generator, [&](const std::array<std::uint32_t, 4>& words, auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float>) return static_cast<float>(low) + static_cast<float>(width) * uniform_float(words[0]);
    else return low + width * uniform_double(words[0], words[1]);
  });
}

void normal_(Tensor& tensor, Generator& generator, double mean, double stddev) {
  // Box–Muller on two independent uniforms; u1 in (0, 1] so the log is finite.
  fill_from_blocks(tensor, generator, [&](const std::array<std::uint32_t, 4>& words, auto) {
    const double u1 = 1.0 - uniform_double(words[0], words[1]);
    const double u2 = uniform_double(words[2], words[3]);
    return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  });
}

void bernoulli_(Tensor& tensor, Generator& generator, double probability) {
  if (!(probability >= 0.0 && probability <= 1.0))
    fail("bernoulli: probability must be in [0, 1], got {}", probability);
  fill_from_blocks(tensor, generator, [&](const std::array<std::uint32_t, 4>& words, auto) {
    return uniform_double(words[0], words[1]) < probability ? 1.0 : 0.0;
  });
}

Tensor uniform(const Shape& shape, Generator& generator, double low, double high, DType dtype) {
  Tensor tensor = Tensor::empty(shape, dtype);
  uniform_(tensor, generator, low, high);
  return tensor;
}

Tensor normal(const Shape& shape, Generator& generator, double mean, double stddev, DType dtype) {
  Tensor tensor = Tensor::empty(shape, dtype);
  normal_(tensor, generator, mean, stddev);
  return tensor;
}

Tensor bernoulli(const Shape& shape, Generator& generator, double probability, DType dtype) {
  Tensor tensor = Tensor::empty(shape, dtype);
  bernoulli_(tensor, generator, probability);
  return tensor;
}

}  // namespace sf
