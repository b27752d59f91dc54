// The vectorized Philox and dropout kernels against their scalar references: every length
// around the vector width, counters that cross 2^32 (the high counter word changes inside one
// vector), 1 vs 2 threads, and the keep threshold's edges.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "sf/core/compute_elementwise.hpp"
#include "sf/core/error.hpp"
#include "sf/core/kernels/random_bits.hpp"
#include "sf/core/parallel.hpp"
#include "sf/core/random.hpp"

BOOST_AUTO_TEST_SUITE(random_bits_kernels)

BOOST_AUTO_TEST_CASE(philox_blocks_equal_the_scalar_generator) {
  const std::vector<std::uint64_t> firsts = {0, 1, 12345, (1ull << 32) - 5, ~0ull - 40};
  for (std::uint64_t seed : {0ull, 42ull, 0xDEADBEEFCAFEull}) {
    for (std::uint64_t first : firsts) {
      for (std::int64_t count : {1, 3, 7, 8, 9, 16, 17, 33}) {
        std::vector<std::uint32_t> fast(static_cast<std::size_t>(4 * count)), slow(fast.size());
        sf::kernels::philox_blocks(seed, first, count, fast.data());
        sf::kernels::philox_blocks_reference(seed, first, count, slow.data());
        BOOST_TEST_INFO("seed " << seed << " first " << first << " count " << count);
        BOOST_TEST(fast == slow, boost::test_tools::per_element());
      }
    }
  }
}

// Every start inside a block (skip: element e is draw e + skip), lengths around the vector width
// and across several parallel tasks, 1 and 2 threads; the mask's neighbours stay untouched.
BOOST_AUTO_TEST_CASE(dropout_mask_equals_reference_for_any_length_start_and_thread_count) {
  const std::uint64_t threshold = static_cast<std::uint64_t>(0.7 * 4294967296.0);
  for (std::int64_t skip = 0; skip < 4; ++skip)
    for (std::int64_t count : {1, 2, 3, 4, 5, 31, 32, 33, 63, 64, 65, 1000, 70001}) {
      std::vector<float> drawn(static_cast<std::size_t>(count + skip));
      sf::kernels::dropout_mask_reference<float>(9, (1ull << 32) - 3, threshold, 2.0f, drawn.data(), count + skip);
      std::vector<float> reference(drawn.begin() + skip, drawn.end());
      reference.insert(reference.begin(), -1.0f);  // a guard before and after the mask
      reference.push_back(-1.0f);
      for (int threads : {1, 2}) {
        sf::parallel::ThreadCountGuard guard(threads);
        std::vector<float> fast(reference.size(), -1.0f);
        sf::kernels::dropout_mask<float>(9, (1ull << 32) - 3, skip, threshold, 2.0f, fast.data() + 1, count);
        BOOST_TEST_INFO("skip " << skip << " count " << count << " threads " << threads);
        BOOST_TEST(fast == reference, boost::test_tools::per_element());
      }
    }
}

// The one-pass dropout against mask-then-multiply from the scalar reference, bit for bit (NaN, ±0,
// ±inf and negatives among the inputs: x · 0 keeps the sign and the NaN): every start inside a
// block, lengths around the vector width and across several parallel tasks, the threshold's
// edges, 1 and 2 threads, with and without the byte mask.
template <class T>
void check_dropout_apply() {
  const std::vector<std::uint64_t> thresholds = {0, static_cast<std::uint64_t>(0.7 * 4294967296.0), 1ull << 32};
  for (std::uint64_t threshold : thresholds)
    for (std::int64_t skip = 0; skip < 4; ++skip)
      for (std::int64_t count : {1, 3, 4, 5, 31, 33, 64, 65, 1000, 70001}) {
        std::vector<T> x(static_cast<std::size_t>(count));
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(static_cast<double>(i % 13) - 6.25);
        const T specials[] = {std::numeric_limits<T>::quiet_NaN(), -T(0), std::numeric_limits<T>::infinity(), -T(3)};
        for (std::size_t i = 0; i < 4 && i < x.size(); ++i) x[i * x.size() / 4] = specials[i];
        std::vector<T> drawn(static_cast<std::size_t>(count + skip));
        sf::kernels::dropout_mask_reference<T>(9, (1ull << 32) - 3, threshold, T(2), drawn.data(), count + skip);
        std::vector<T> expected(x.size());
        std::vector<std::uint8_t> expected_keep(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
          const T factor = drawn[i + static_cast<std::size_t>(skip)];
          expected[i] = x[i] * factor;
          expected_keep[i] = factor != T(0) ? 1 : 0;
        }
        for (int threads : {1, 2})
          for (bool with_keep : {true, false}) {
            sf::parallel::ThreadCountGuard guard(threads);
            std::vector<T> y(x.size(), T(-1));
            std::vector<std::uint8_t> keep(x.size(), 7);
            sf::kernels::dropout_apply<T>(9, (1ull << 32) - 3, skip, threshold, T(2), x.data(), y.data(),
                                          with_keep ? keep.data() : nullptr, count);
            BOOST_TEST_INFO("threshold " << threshold << " skip " << skip << " count " << count << " threads "
                                         << threads << " byte mask " << with_keep);
            BOOST_TEST(std::memcmp(y.data(), expected.data(), y.size() * sizeof(T)) == 0);
            if (with_keep) BOOST_TEST(keep == expected_keep, boost::test_tools::per_element());
            else BOOST_TEST(keep == std::vector<std::uint8_t>(x.size(), 7), boost::test_tools::per_element());
          }
      }
}

BOOST_AUTO_TEST_CASE(dropout_in_one_pass_equals_the_mask_then_the_product) {
  check_dropout_apply<float>();
  check_dropout_apply<double>();
}

BOOST_AUTO_TEST_CASE(dropout_threshold_edges) {
  std::vector<double> mask(100);
  sf::kernels::dropout_mask<double>(1, 0, 0, 1ull << 32, 1.0, mask.data(), 100);  // keep probability 1
  for (double value : mask) BOOST_TEST(value == 1.0);
  sf::kernels::dropout_mask<double>(1, 0, 0, 0, 1.0, mask.data(), 100);  // keep probability 0
  for (double value : mask) BOOST_TEST(value == 0.0);
}

// A batch split over processes (Generator::Shard) draws, row for row, what the whole batch draws,
// and leaves every process's generator where the whole draw leaves it: dropout masks (four values
// per counter, rows of 7 so shares start inside a counter) and uniform fills (one per counter).
BOOST_AUTO_TEST_CASE(a_batch_split_into_shards_draws_what_the_whole_batch_draws) {
  const std::int64_t rows = 6, row = 7;
  const sf::Generator start(99, 13);
  sf::Generator whole = start;
  const std::vector<double> mask = sf::compute::dropout_mask({rows, row}, whole, 0.5).to_vector();
  const std::vector<double> uniforms = sf::uniform({rows, row}, whole).to_vector();
  for (const auto& [first, local] : std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 2}, {2, 3}, {5, 1}, {0, 6}}) {
    sf::Generator shard = start;
    shard.shard = {.rows = rows, .first = first, .local = local};
    const std::vector<double> part = sf::compute::dropout_mask({local, row}, shard, 0.5).to_vector();
    const std::vector<double> part_uniforms = sf::uniform({local, row}, shard).to_vector();
    BOOST_TEST_INFO("rows " << first << " to " << first + local);
    BOOST_TEST(part == std::vector<double>(mask.begin() + first * row, mask.begin() + (first + local) * row),
               boost::test_tools::per_element());
    BOOST_TEST(part_uniforms ==
                   std::vector<double>(uniforms.begin() + first * row, uniforms.begin() + (first + local) * row),
               boost::test_tools::per_element());
    BOOST_TEST(shard.offset == whole.offset);
  }
  sf::Generator wrong = start;
  wrong.shard = {.rows = rows, .first = 0, .local = 4};
  BOOST_CHECK_THROW(sf::compute::dropout_mask({3, 5}, wrong, 0.5), sf::Error);  // 15 values are not 4 whole rows
}

BOOST_AUTO_TEST_SUITE_END()
