// The vectorized Philox and dropout kernels against their scalar references: every length
// around the vector width, counters that cross 2^32 (the high counter word changes inside one
// vector), 1 vs 2 threads, and the keep threshold's edges.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <vector>

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

BOOST_AUTO_TEST_CASE(dropout_mask_equals_reference_for_any_length_and_thread_count) {
  const std::uint64_t threshold = static_cast<std::uint64_t>(0.7 * 4294967296.0);
  for (std::int64_t count : {1, 2, 3, 4, 5, 31, 32, 33, 63, 64, 65, 1000, 70001}) {
    std::vector<float> reference(static_cast<std::size_t>(count));
    sf::kernels::dropout_mask_reference<float>(9, (1ull << 32) - 3, threshold, 2.0f, reference.data(), count);
    for (int threads : {1, 2}) {
      sf::parallel::ThreadCountGuard guard(threads);
      std::vector<float> fast(reference.size(), -1.0f);
      sf::kernels::dropout_mask<float>(9, (1ull << 32) - 3, threshold, 2.0f, fast.data(), count);
      BOOST_TEST_INFO("count " << count << " threads " << threads);
      BOOST_TEST(fast == reference, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(dropout_threshold_edges) {
  std::vector<double> mask(100);
  sf::kernels::dropout_mask<double>(1, 0, 1ull << 32, 1.0, mask.data(), 100);  // keep probability 1
  for (double value : mask) BOOST_TEST(value == 1.0);
  sf::kernels::dropout_mask<double>(1, 0, 0, 1.0, mask.data(), 100);  // keep probability 0
  for (double value : mask) BOOST_TEST(value == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
