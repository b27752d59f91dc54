// gemm_with_bias and compute::linear: the bias added in the micro-kernel's epilogue must give
// the same bits as the two-step way it replaced (copy the bias into every row of C, then gemm
// with beta = 1), on every path of the GEMM: the tiny-problem loop, K = 0, one thread, the
// parallel row bands and column bands, right-edge tiles narrower than NR, K deeper than one
// KC slice (the bias belongs to the first slice only), A read in place or packed, padded
// leading dimensions (the padding of C untouched), float32 and float64, 1 and 2 threads.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "sf/core/kernels/gemm.hpp"
#include "sf/core/kernels/gemm_config.hpp"
#include "sf/core/matmul.hpp"
#include "sf/core/parallel.hpp"
#include "sf/core/random.hpp"
#include "test_util.hpp"

using sf::kernels::Transpose;

namespace {

template <class T>
std::vector<T> random_values(std::int64_t count, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<T> values(static_cast<std::size_t>(std::max<std::int64_t>(1, count)));
  for (T& value : values) value = static_cast<T>(uniform(engine));
  return values;
}

struct Case {
  std::int64_t M, N, K, padding;
};

template <class T>
void check_same_bits_as_copy_then_accumulate(Transpose transpose_a, Transpose transpose_b, const Case& size,
                                             T alpha) {
  const bool a_no = transpose_a == Transpose::No, b_no = transpose_b == Transpose::No;
  const std::int64_t lda = std::max<std::int64_t>(1, (a_no ? size.K : size.M) + size.padding);
  const std::int64_t ldb = std::max<std::int64_t>(1, (b_no ? size.N : size.K) + size.padding);
  const std::int64_t ldc = size.N + size.padding + 1;
  const std::vector<T> a = random_values<T>((a_no ? size.M : size.K) * lda, 1);
  const std::vector<T> b = random_values<T>((b_no ? size.K : size.N) * ldb, 2);
  const std::vector<T> bias = random_values<T>(size.N, 3);
  std::vector<T> results[2];
  for (int threads : {1, 2}) {
    sf::parallel::ThreadCountGuard guard(threads);
    // Old content of C: NaN, which gemm_with_bias must never read (nor its padding write).
    std::vector<T> fused(static_cast<std::size_t>(std::max<std::int64_t>(1, size.M * ldc)),
                         std::numeric_limits<T>::quiet_NaN());
    std::vector<T> two_step = fused;
    sf::kernels::gemm_with_bias<T>(transpose_a, transpose_b, size.M, size.N, size.K, alpha, a.data(), lda, b.data(),
                                   ldb, bias.data(), fused.data(), ldc);
    for (std::int64_t row = 0; row < size.M; ++row)
      std::copy(bias.begin(), bias.begin() + size.N, two_step.begin() + row * ldc);
    sf::kernels::gemm<T>(transpose_a, transpose_b, size.M, size.N, size.K, alpha, a.data(), lda, b.data(), ldb, T(1),
                         two_step.data(), ldc);
    std::int64_t differences = 0, padding_written = 0;
    for (std::int64_t row = 0; row < size.M; ++row) {
      for (std::int64_t column = 0; column < size.N; ++column) {
        const std::size_t index = static_cast<std::size_t>(row * ldc + column);
        differences += std::memcmp(&fused[index], &two_step[index], sizeof(T)) != 0;
      }
      for (std::int64_t column = size.N; column < ldc; ++column)
        padding_written += !std::isnan(fused[static_cast<std::size_t>(row * ldc + column)]);
    }
    BOOST_TEST(differences == 0, differences << " elements differ from bias copy + gemm(beta = 1), threads "
                                             << threads);
    BOOST_TEST(padding_written == 0);
    results[threads - 1] = fused;
  }
  BOOST_TEST(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(T)) == 0,
             "1 and 2 threads differ");
}

template <class T>
void check_every_path() {
  using Blocking = sf::kernels::gemm_config::Blocking<T>;
  const std::int64_t MR = Blocking::MR, NR = Blocking::NR, KC = Blocking::KC;
  const Case sizes[] = {
      {5, 3, 2, 0},                    // tiny: the direct loop
      {7, 9, 0, 0},                    // K = 0: C = bias
      {2 * MR + 3, NR + 5, 40, 3},     // one thread's packed GEMM (below the parallel threshold), ragged edges
      {40 * MR + 1, 3 * NR - 7, 128, 0},  // parallel row bands; A read in place (rows 512 B apart)
      {20 * MR, 2 * NR + 1, 512, 0},   // A packed (rows 2 KiB apart)
      {MR + 2, 40 * NR + 3, 96, 2},    // few rows: parallel column bands
      {6 * MR + 5, NR + 1, 2 * KC + 7, 1},  // three K slices: the bias in the first only
      {3 * MR + 1, NR + 3, 4100, 0},   // cut into parts along K: the bias in the first part only
  };
  for (Transpose transpose_a : {Transpose::No, Transpose::Yes})
    for (Transpose transpose_b : {Transpose::No, Transpose::Yes})
      for (const Case& size : sizes)
        for (T alpha : {T(1), T(-0.75)}) {
          BOOST_TEST_CONTEXT((transpose_a == Transpose::No ? "N" : "T")
                             << (transpose_b == Transpose::No ? "N" : "T") << " M=" << size.M << " N=" << size.N
                             << " K=" << size.K << " alpha=" << alpha << (sizeof(T) == 4 ? " float32" : " float64")) {
            check_same_bits_as_copy_then_accumulate<T>(transpose_a, transpose_b, size, alpha);
          }
        }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gemm_bias)

BOOST_AUTO_TEST_CASE(same_bits_as_bias_copy_then_gemm_on_every_path) {
  check_every_path<float>();
  check_every_path<double>();
}

BOOST_AUTO_TEST_CASE(null_bias_is_an_error) {
  std::vector<float> data(16);
  sf::test::check_error_message(
      [&] {
        sf::kernels::gemm_with_bias<float>(Transpose::No, Transpose::No, 2, 2, 2, 1.0f, data.data(), 2, data.data(), 2,
                                           nullptr, data.data(), 2);
      },
      "gemm_with_bias: the bias of C [2, 2] is null");
}

BOOST_AUTO_TEST_CASE(linear_on_tensors_and_views) {
  sf::Generator generator(5);
  for (sf::DType dtype : {sf::DType::Float32, sf::DType::Float64}) {
    const sf::Tensor input = sf::normal({300, 48}, generator, 0.0, 1.0, dtype);
    // A weight stored transposed (a column-major view) and a bias that is a strided view.
    const sf::Tensor weight = sf::normal({48, 70}, generator, 0.0, 1.0, dtype).transpose(0, 1);
    const sf::Tensor bias = sf::normal({70, 2}, generator, 0.0, 1.0, dtype).select(1, 0);
    const sf::Tensor got = sf::compute::linear(input, weight, bias);
    sf::Tensor expected = sf::Tensor::empty({300, 70}, dtype);
    expected.copy_from(bias);
    sf::compute::matmul_into(expected, input, weight, false, true, 1.0, 1.0);
    BOOST_TEST(got.shape() == expected.shape());
    BOOST_TEST(std::memcmp(got.raw_data(), expected.raw_data(), static_cast<std::size_t>(got.numel()) * got.element_size()) == 0);
    // No bias: the plain product, matmul_into's bits.
    const sf::Tensor plain = sf::compute::linear(input, weight, sf::Tensor());
    sf::Tensor product = sf::Tensor::empty({300, 70}, dtype);
    sf::compute::matmul_into(product, input, weight, false, true, 1.0, 0.0);
    BOOST_TEST(std::memcmp(plain.raw_data(), product.raw_data(), static_cast<std::size_t>(plain.numel()) * plain.element_size()) == 0);
  }
}

BOOST_AUTO_TEST_CASE(linear_shape_errors_print_every_shape) {
  const sf::Tensor input = sf::Tensor::zeros({4, 3}), weight = sf::Tensor::zeros({5, 3});
  sf::test::check_error_message([&] { sf::compute::linear(input, weight, sf::Tensor::zeros({4})); },
                                "linear: expected input [M, K], weight [N, K] and bias [N], got [4, 3], [5, 3] and [4]");
  sf::test::check_error_message([&] { sf::compute::linear(input, sf::Tensor::zeros({5, 2}), sf::Tensor::zeros({5})); },
                                "got [4, 3], [5, 2] and [5]");
  sf::test::check_error_message([&] { sf::compute::linear(input, sf::Tensor::zeros({5, 2}), sf::Tensor()); },
                                "linear: expected input [M, K] and weight [N, K], got [4, 3] and [5, 2]");
}

BOOST_AUTO_TEST_SUITE_END()
