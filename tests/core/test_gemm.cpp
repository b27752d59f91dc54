// GEMM: every variant against the naive reference on awkward shapes, all transposes, alpha/beta,
// padded leading dimensions, batches with broadcast operands, 1 vs 2 threads; matmul on tensors.
//
// Tolerance. Each element of C is a sum of K products, so it may differ from the exact result by
// at most γ_K·(|α|·Σ_k |a_ik||b_kj| + |β||c_ij|) with γ_K ≈ K·ε (Higham, Accuracy and Stability
// of Numerical Algorithms, §3.5). The reference accumulates in double, which for double has the
// same kind of error, so the test allows
//     |ours − reference| ≤ 2·(K + 2)·ε·(|α|·(|A|·|B|)_ij + |β|·|c_ij|)      per element,
// with ε the unit roundoff of T. Any wrong index or dropped term breaks this by orders of magnitude.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sf/core/kernels/gemm.hpp"
#include "sf/core/kernels/gemm_config.hpp"
#include "sf/core/matmul.hpp"
#include "sf/core/parallel.hpp"
#include "sf/core/random.hpp"
#include "test_util.hpp"

using sf::kernels::GemmVariant;
using sf::kernels::Transpose;
using sf::test::check_error_message;

namespace {

// A matrix stored row-major as rows × columns with row stride ld = columns + padding. The padding
// holds NaN: a kernel that reads it poisons its result, one that writes it is caught afterwards.
template <class T>
struct Matrix {
  std::int64_t rows = 0, columns = 0, ld = 1;
  std::vector<T> values;

  Matrix(std::int64_t row_count, std::int64_t column_count, std::int64_t padding, std::uint64_t seed)
      : rows(row_count), columns(column_count), ld(std::max<std::int64_t>(1, column_count + padding)),
        values(static_cast<std::size_t>(std::max<std::int64_t>(1, row_count * ld)),
               std::numeric_limits<T>::quiet_NaN()) {
    std::mt19937_64 engine(seed);
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    for (std::int64_t row = 0; row < rows; ++row)
      for (std::int64_t column = 0; column < columns; ++column) at(row, column) = static_cast<T>(uniform(engine));
  }
  T& at(std::int64_t row, std::int64_t column) { return values[static_cast<std::size_t>(row * ld + column)]; }
  Matrix absolute() const {
    Matrix copy = *this;
    for (T& value : copy.values) value = std::fabs(value);
    return copy;
  }
};

const char* op_name(Transpose transpose_a, Transpose transpose_b) {
  static const char* names[2][2] = {{"NN", "NT"}, {"TN", "TT"}};
  return names[transpose_a == Transpose::Yes][transpose_b == Transpose::Yes];
}

// Runs one variant (Threaded = the public gemm()) on fresh operands and checks it against
// gemm_reference with the tolerance above, and that C's padding is untouched.
template <class T>
void check_gemm(GemmVariant variant, Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N,
                std::int64_t K, T alpha = T(1), T beta = T(0), std::int64_t padding = 0) {
  BOOST_TEST_CONTEXT(sf::kernels::gemm_variant_name(variant)
                     << " " << op_name(transpose_a, transpose_b) << " M=" << M << " N=" << N << " K=" << K
                     << " alpha=" << alpha << " beta=" << beta << " padding=" << padding
                     << (sizeof(T) == 4 ? " float32" : " float64")) {
    const bool a_no = transpose_a == Transpose::No, b_no = transpose_b == Transpose::No;
    const std::uint64_t seed = static_cast<std::uint64_t>(M * 1000003 + N * 1009 + K);
    const Matrix<T> a(a_no ? M : K, a_no ? K : M, padding, seed + 1);
    const Matrix<T> b(b_no ? K : N, b_no ? N : K, padding, seed + 2);
    Matrix<T> c_initial(M, N, padding + 1, seed + 3);
    if (beta == T(0))  // beta == 0 must ignore C, NaN included
      for (std::int64_t i = 0; i < M; ++i)
        for (std::int64_t j = 0; j < N; ++j) c_initial.at(i, j) = std::numeric_limits<T>::quiet_NaN();
    Matrix<T> c = c_initial, expected = c_initial;
    const std::int64_t ldc = c.ld;
    if (variant == GemmVariant::Threaded)
      sf::kernels::gemm<T>(transpose_a, transpose_b, M, N, K, alpha, a.values.data(), a.ld, b.values.data(), b.ld,
                           beta, c.values.data(), ldc);
    else
      sf::kernels::gemm_variant<T>(variant, transpose_a, transpose_b, M, N, K, alpha, a.values.data(), a.ld,
                                   b.values.data(), b.ld, beta, c.values.data(), ldc);
    sf::kernels::gemm_reference<T>(transpose_a, transpose_b, M, N, K, alpha, a.values.data(), a.ld,
                                   b.values.data(), b.ld, beta, expected.values.data(), ldc);
    // bound = |alpha|·|A|·|B| + |beta|·|C|, computed by the reference on absolute values.
    const Matrix<T> a_absolute = a.absolute(), b_absolute = b.absolute();
    Matrix<T> bound = c_initial.absolute();
    sf::kernels::gemm_reference<T>(transpose_a, transpose_b, M, N, K, std::fabs(alpha), a_absolute.values.data(),
                                   a.ld, b_absolute.values.data(), b.ld, std::fabs(beta), bound.values.data(), ldc);
    const double epsilon = std::numeric_limits<T>::epsilon() / 2;
    std::int64_t failures = 0;
    std::string first_failure;
    for (std::int64_t i = 0; i < M; ++i) {
      for (std::int64_t j = 0; j < N; ++j) {
        const double got = c.at(i, j), want = expected.at(i, j);
        const double tolerance = 2.0 * static_cast<double>(K + 2) * epsilon * bound.at(i, j);
        if (!(std::fabs(got - want) <= tolerance)) {
          if (failures++ == 0)
            first_failure = "C(" + std::to_string(i) + ", " + std::to_string(j) + ") = " + std::to_string(got) +
                            ", reference " + std::to_string(want) + ", tolerance " + std::to_string(tolerance);
        }
      }
      for (std::int64_t j = N; j < ldc; ++j)  // the padding of C stays NaN
        if (!std::isnan(c.at(i, j)) && failures++ == 0) first_failure = "padding of C row " + std::to_string(i) + " written";
    }
    BOOST_TEST(failures == 0, failures << " wrong elements; first: " << first_failure);
  }
}

constexpr Transpose transposes[] = {Transpose::No, Transpose::Yes};
constexpr GemmVariant all_variants[] = {GemmVariant::Naive, GemmVariant::Blocked, GemmVariant::Packed,
                                        GemmVariant::Threaded};

template <class T>
void check_awkward_sizes() {
  using Blocking = sf::kernels::gemm_config::Blocking<T>;
  const std::int64_t MR = Blocking::MR, NR = Blocking::NR;
  const std::vector<std::int64_t> m_sizes = {1, 7, MR - 1, MR + 1, NR + 1};
  const std::vector<std::int64_t> n_sizes = {1, 7, NR - 1, NR + 1, MR + 1};
  const std::vector<std::int64_t> k_sizes = {1, 7, MR + 1};
  for (GemmVariant variant : all_variants)
    for (Transpose transpose_a : transposes)
      for (Transpose transpose_b : transposes)
        for (std::int64_t M : m_sizes)
          for (std::int64_t N : n_sizes)
            for (std::int64_t K : k_sizes) check_gemm<T>(variant, transpose_a, transpose_b, M, N, K);
}

// Sizes one past each block size, so every loop of the packed GEMM has a partial last block.
template <class T>
void check_block_edges() {
  using Blocking = sf::kernels::gemm_config::Blocking<T>;
  const std::int64_t MR = Blocking::MR, NR = Blocking::NR, MC = Blocking::MC, KC = Blocking::KC, NC = Blocking::NC;
  struct Size {
    std::int64_t M, N, K;
  };
  const Size sizes[] = {{MR + 1, NR + 1, KC + 1}, {MC + 1, NR - 1, 9}, {5, NC + 1, 3}, {MC + 1, 2 * NR + 3, KC + 1},
                        {3 * MR, 3 * NR, 2 * KC + 1}, {9 * MR + 1, NC + 1, 40}};
  sf::parallel::ThreadCountGuard two_threads(2);  // so that gemm() takes its parallel paths
  for (GemmVariant variant : {GemmVariant::Packed, GemmVariant::Threaded})
    for (Transpose transpose_a : transposes)
      for (Transpose transpose_b : transposes)
        for (const Size& size : sizes) check_gemm<T>(variant, transpose_a, transpose_b, size.M, size.N, size.K);
  // The shared B panel of the parallel GEMM holds 16 MiB; a deeper K is packed in chunks of
  // K slices (NC·4·KC floats per chunk): one past it, on the thread-parallel path only.
  check_gemm<T>(GemmVariant::Threaded, Transpose::No, Transpose::Yes, 4 * MR, NC, 16 * 1024 * 1024 / (NC * sizeof(T)) + 3);
}

// A long K against a small C is cut into parts along K (gemm_split_k.hpp): two parts with a
// ragged second one, three parts, alpha and beta (NaN in C with beta = 0), on 1, 2 and 3
// threads (3: more threads than parts, so each part is itself split over the threads).
template <class T>
void check_k_split() {
  struct Size {
    std::int64_t M, N, K;
  };
  const Size sizes[] = {{40, 33, 4100}, {130, 64, 6144 + 1}};
  for (int threads : {1, 2, 3}) {
    sf::parallel::ThreadCountGuard guard(threads);
    for (Transpose transpose_a : transposes)
      for (Transpose transpose_b : transposes)
        for (const Size& size : sizes) {
          check_gemm<T>(GemmVariant::Threaded, transpose_a, transpose_b, size.M, size.N, size.K);
          check_gemm<T>(GemmVariant::Threaded, transpose_a, transpose_b, size.M, size.N, size.K, T(-0.5), T(1.5), 2);
        }
  }
}

template <class T>
void check_alpha_beta_and_padding() {
  using Blocking = sf::kernels::gemm_config::Blocking<T>;
  const std::int64_t MR = Blocking::MR, NR = Blocking::NR;
  const std::pair<T, T> scalars[] = {{T(1), T(1)}, {T(-0.5), T(0)}, {T(2), T(-1.5)}, {T(0), T(0.5)}, {T(0), T(0)}};
  for (GemmVariant variant : all_variants)
    for (Transpose transpose_a : transposes)
      for (Transpose transpose_b : transposes)
        for (const auto& [alpha, beta] : scalars)
          for (std::int64_t padding : {0, 3}) {
            check_gemm<T>(variant, transpose_a, transpose_b, 2 * MR + 3, NR + 5, 40, alpha, beta, padding);
            check_gemm<T>(variant, transpose_a, transpose_b, 5, 3, 2, alpha, beta, padding);  // small path
          }
}

template <class T>
void check_zero_sizes() {
  for (GemmVariant variant : all_variants)
    for (Transpose transpose_a : transposes)
      for (Transpose transpose_b : transposes)
        for (T beta : {T(0), T(0.5)}) {
          check_gemm<T>(variant, transpose_a, transpose_b, 0, 5, 7, T(1), beta);
          check_gemm<T>(variant, transpose_a, transpose_b, 6, 0, 7, T(1), beta);
          check_gemm<T>(variant, transpose_a, transpose_b, 6, 5, 0, T(1), beta);  // C = beta · C
          check_gemm<T>(variant, transpose_a, transpose_b, 40, 50, 0, T(2), beta, 2);
        }
}

// Batched GEMM, entry by entry against the reference; stride 0 broadcasts A or B.
template <class T>
void check_batched(std::int64_t stride_a_factor, std::int64_t stride_b_factor) {
  const std::int64_t batch = 3, M = 37, N = 45, K = 29;
  for (Transpose transpose_a : transposes)
    for (Transpose transpose_b : transposes) {
      BOOST_TEST_CONTEXT(op_name(transpose_a, transpose_b) << " stride factors " << stride_a_factor << ", "
                                                           << stride_b_factor) {
        // Raw storage large enough for every entry in either orientation, no NaN padding: the
        // entries overlap (inputs may), and A/B are read with padded leading dimensions.
        const Matrix<T> a(1, 4000, 0, 11), b(1, 4000, 0, 12);
        const std::int64_t lda = transpose_a == Transpose::No ? K + 1 : M + 1;
        const std::int64_t ldb = transpose_b == Transpose::No ? N + 2 : K + 2;
        const std::int64_t stride_a = stride_a_factor * 700, stride_b = stride_b_factor * 900;
        Matrix<T> c(batch * M, N, 0, 13);
        Matrix<T> expected = c;
        sf::kernels::gemm_batched_strided<T>(transpose_a, transpose_b, batch, M, N, K, T(1.5), a.values.data(), lda,
                                             stride_a, b.values.data(), ldb, stride_b, T(0.25), c.values.data(),
                                             c.ld, M * c.ld);
        for (std::int64_t entry = 0; entry < batch; ++entry)
          sf::kernels::gemm_reference<T>(transpose_a, transpose_b, M, N, K, T(1.5), a.values.data() + entry * stride_a,
                                         lda, b.values.data() + entry * stride_b, ldb, T(0.25),
                                         expected.values.data() + entry * M * c.ld, c.ld);
        double largest_error = 0;
        for (std::size_t index = 0; index < c.values.size(); ++index)
          largest_error = std::max(largest_error, std::fabs(double(c.values[index]) - double(expected.values[index])));
        // Entries are sums of 29 products of numbers in [-1, 1]: |C| ≤ 1.5·29 + 0.25.
        BOOST_TEST(largest_error <= 2.0 * (K + 2) * std::numeric_limits<T>::epsilon() * (1.5 * K + 0.25));
      }
    }
}

// The same call with 1, 2 and 3 threads must give the same bits.
template <class T>
void check_thread_count_invariance() {
  struct Size {
    std::int64_t M, N, K;
  };
  // The last two are cut along K (gemm_split_k.hpp); 3 threads are more than their parts.
  const Size sizes[] = {{130, 200, 300}, {37, 700, 90}, {600, 40, 513}, {128, 128, 1100}, {128, 96, 4608},
                        {64, 64, 8192}};
  for (Transpose transpose_a : transposes)
    for (Transpose transpose_b : transposes)
      for (const Size& size : sizes) {
        BOOST_TEST_CONTEXT(op_name(transpose_a, transpose_b) << " " << size.M << "x" << size.N << "x" << size.K) {
          const bool a_no = transpose_a == Transpose::No, b_no = transpose_b == Transpose::No;
          const Matrix<T> a(a_no ? size.M : size.K, a_no ? size.K : size.M, 0, 21);
          const Matrix<T> b(b_no ? size.K : size.N, b_no ? size.N : size.K, 0, 22);
          const Matrix<T> c_initial(size.M, size.N, 0, 23);
          std::vector<T> results[3];
          for (int threads : {1, 2, 3}) {
            sf::parallel::ThreadCountGuard guard(threads);
            Matrix<T> c = c_initial;
            // Batched too: 2 entries, B broadcast.
            sf::kernels::gemm<T>(transpose_a, transpose_b, size.M, size.N, size.K, T(0.75), a.values.data(), a.ld,
                                 b.values.data(), b.ld, T(0.5), c.values.data(), c.ld);
            results[threads - 1] = c.values;
            std::vector<T> batched(static_cast<std::size_t>(2 * size.M * size.N));
            sf::kernels::gemm_batched_strided<T>(transpose_a, transpose_b, 2, size.M / 2, size.N, size.K, T(1),
                                                 a.values.data(), a.ld, a_no ? size.M / 2 * a.ld : size.M / 2,
                                                 b.values.data(), b.ld, 0, T(0), batched.data(), size.N,
                                                 size.M / 2 * size.N);
            results[threads - 1].insert(results[threads - 1].end(), batched.begin(), batched.end());
          }
          BOOST_TEST(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(T)) == 0);
          BOOST_TEST(std::memcmp(results[0].data(), results[2].data(), results[0].size() * sizeof(T)) == 0);
        }
      }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gemm)

BOOST_AUTO_TEST_CASE(awkward_sizes_all_variants_and_transposes) {
  check_awkward_sizes<float>();
  check_awkward_sizes<double>();
}

BOOST_AUTO_TEST_CASE(one_past_every_block_size) {
  check_block_edges<float>();
  check_block_edges<double>();
}

BOOST_AUTO_TEST_CASE(long_k_cut_into_parts) {
  check_k_split<float>();
  check_k_split<double>();
}

BOOST_AUTO_TEST_CASE(alpha_beta_and_padded_leading_dimensions) {
  check_alpha_beta_and_padding<float>();
  check_alpha_beta_and_padding<double>();
}

BOOST_AUTO_TEST_CASE(zero_sized_dimensions) {
  check_zero_sizes<float>();
  check_zero_sizes<double>();
}

BOOST_AUTO_TEST_CASE(batched_with_broadcast_operands) {
  for (auto [stride_a_factor, stride_b_factor] : {std::pair{1, 1}, std::pair{0, 1}, std::pair{1, 0}}) {
    check_batched<float>(stride_a_factor, stride_b_factor);
    check_batched<double>(stride_a_factor, stride_b_factor);
  }
}

BOOST_AUTO_TEST_CASE(one_and_two_threads_bit_identical) {
  check_thread_count_invariance<float>();
  check_thread_count_invariance<double>();
}

BOOST_AUTO_TEST_CASE(argument_errors) {
  std::vector<float> data(64);
  check_error_message(
      [&] {
        sf::kernels::gemm<float>(Transpose::No, Transpose::No, 4, 2, 5, 1.0f, data.data(), 3, data.data(), 2, 0.0f,
                                 data.data(), 2);
      },
      "gemm: lda 3 < 5 for A stored [4, 5] (op N)");
  check_error_message(
      [&] {
        sf::kernels::gemm<float>(Transpose::No, Transpose::Yes, 4, 2, 5, 1.0f, data.data(), 5, data.data(), 4, 0.0f,
                                 data.data(), 2);
      },
      "gemm: ldb 4 < 5 for B stored [2, 5] (op T)");
  check_error_message(
      [&] {
        sf::kernels::gemm_batched_strided<float>(Transpose::No, Transpose::No, 2, 2, 2, 2, 1.0f, data.data(), 2, 4,
                                                 data.data(), 2, 0, 0.0f, data.data(), 2, 3);
      },
      "gemm_batched_strided: stride_c 3 makes the C matrices [2, 2] (ldc 2) of the 2 entries overlap");
  check_error_message([] { sf::kernels::parse_gemm_variant("fast"); }, "gemm: unknown variant 'fast'");
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// Naive matmul of the last two dims of 2-D tensors, for the tensor-level tests.
sf::Tensor reference_matmul(const sf::Tensor& a, const sf::Tensor& b, bool transpose_a, bool transpose_b) {
  const sf::Tensor left = transpose_a ? a.transpose(0, 1) : a, right = transpose_b ? b.transpose(0, 1) : b;
  const std::int64_t M = left.size(0), K = left.size(1), N = right.size(1);
  sf::Tensor result = sf::Tensor::zeros({M, N}, sf::DType::Float64);
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t j = 0; j < N; ++j) {
      double sum = 0;
      for (std::int64_t k = 0; k < K; ++k) sum += left.at({i, k}) * right.at({k, j});
      result.set({i, j}, sum);
    }
  return result;
}

void check_close(const sf::Tensor& got, const sf::Tensor& want, double tolerance) {
  BOOST_TEST(got.shape() == want.shape());
  const std::vector<double> got_values = got.to_vector(), want_values = want.to_vector();
  double largest = 0;
  for (std::size_t index = 0; index < got_values.size(); ++index)
    largest = std::max(largest, std::fabs(got_values[index] - want_values[index]));
  BOOST_TEST(largest <= tolerance);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(matmul)

BOOST_AUTO_TEST_CASE(two_dimensional_with_transposes_and_views) {
  for (sf::DType dtype : {sf::DType::Float32, sf::DType::Float64}) {
    sf::Generator generator(5);
    const double tolerance = dtype == sf::DType::Float32 ? 1e-4 : 1e-12;  // K ≤ 40 products of |x| ≤ 1
    const sf::Tensor a = sf::uniform({23, 40}, generator, -1, 1, dtype);
    const sf::Tensor b = sf::uniform({40, 35}, generator, -1, 1, dtype);
    const sf::Tensor expected = reference_matmul(a, b, false, false);
    BOOST_TEST((sf::compute::matmul(a, b).dtype() == dtype));
    check_close(sf::compute::matmul(a, b), expected, tolerance);
    // Transposed storage through the flags, and through transposed views (read with flipped flags).
    const sf::Tensor a_t = a.transpose(0, 1).contiguous(), b_t = b.transpose(0, 1).contiguous();
    check_close(sf::compute::matmul(a_t, b, true, false), expected, tolerance);
    check_close(sf::compute::matmul(a, b_t, false, true), expected, tolerance);
    check_close(sf::compute::matmul(a_t.transpose(0, 1), b_t.transpose(0, 1)), expected, tolerance);
    check_close(sf::compute::matmul(a.transpose(0, 1), b, true, false), expected, tolerance);
    // A row stride larger than the row (a column slice) and a layout that needs a copy (step 2).
    const sf::Tensor wide = sf::uniform({23, 50}, generator, -1, 1, dtype);
    check_close(sf::compute::matmul(wide.slice(1, 5, 45), b), reference_matmul(wide.slice(1, 5, 45), b, false, false),
                tolerance);
    const sf::Tensor strided = wide.slice(1, 0, 50, 2).slice(1, 0, 20);  // [23, 20], column stride 2
    const sf::Tensor b_small = b.slice(0, 0, 20);
    check_close(sf::compute::matmul(strided, b_small), reference_matmul(strided, b_small, false, false), tolerance);
  }
}

BOOST_AUTO_TEST_CASE(batch_dimensions_broadcast) {
  sf::Generator generator(6);
  const sf::Tensor a = sf::uniform({2, 1, 9, 17}, generator, -1, 1, sf::DType::Float64);
  const sf::Tensor b = sf::uniform({3, 17, 11}, generator, -1, 1, sf::DType::Float64);
  const sf::Tensor product = sf::compute::matmul(a, b);
  BOOST_TEST((product.shape() == sf::Shape{2, 3, 9, 11}));
  BOOST_TEST(product.is_contiguous());
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      check_close(product.select(0, i).select(0, j), reference_matmul(a.select(0, i).select(0, 0), b.select(0, j),
                                                                      false, false),
                  1e-12);
  // A 2-D operand against a batch, and permuted batch dims that cannot be merged into one stride.
  const sf::Tensor weight = sf::uniform({17, 11}, generator, -1, 1, sf::DType::Float64);
  const sf::Tensor batch = sf::uniform({3, 2, 9, 17}, generator, -1, 1, sf::DType::Float64).permute({1, 0, 2, 3});
  const sf::Tensor projected = sf::compute::matmul(batch, weight);
  BOOST_TEST((projected.shape() == sf::Shape{2, 3, 9, 11}));
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      check_close(projected.select(0, i).select(0, j),
                  reference_matmul(batch.select(0, i).select(0, j), weight, false, false), 1e-12);
  // Attention-style: q · kᵀ with k read transposed, per batch entry.
  const sf::Tensor q = sf::uniform({4, 6, 8}, generator, -1, 1, sf::DType::Float64);
  const sf::Tensor k = sf::uniform({4, 7, 8}, generator, -1, 1, sf::DType::Float64);
  const sf::Tensor scores = sf::compute::matmul(q, k, false, true);
  for (std::int64_t i = 0; i < 4; ++i)
    check_close(scores.select(0, i), reference_matmul(q.select(0, i), k.select(0, i), false, true), 1e-12);
}

BOOST_AUTO_TEST_CASE(matmul_into_accumulates) {
  sf::Generator generator(7);
  const sf::Tensor a = sf::uniform({2, 5, 6}, generator, -1, 1, sf::DType::Float64);
  const sf::Tensor b = sf::uniform({2, 4, 6}, generator, -1, 1, sf::DType::Float64);
  sf::Tensor out = sf::uniform({2, 5, 4}, generator, -1, 1, sf::DType::Float64);
  const sf::Tensor initial = out.clone();
  sf::compute::matmul_into(out, a, b, false, true, 2.0, 1.0);
  for (std::int64_t i = 0; i < 2; ++i) {
    sf::Tensor expected = reference_matmul(a.select(0, i), b.select(0, i), false, true);
    for (std::int64_t row = 0; row < 5; ++row)
      for (std::int64_t column = 0; column < 4; ++column)
        expected.set({row, column}, 2.0 * expected.at({row, column}) + initial.at({i, row, column}));
    check_close(out.select(0, i), expected, 1e-12);
  }
  sf::Tensor empty_k = sf::Tensor::full({3, 2}, 5.0);
  sf::compute::matmul_into(empty_k, sf::Tensor::zeros({3, 0}), sf::Tensor::zeros({0, 2}), false, false, 1.0, 0.5);
  for (double value : empty_k.to_vector()) BOOST_TEST(value == 2.5);
}

BOOST_AUTO_TEST_CASE(error_messages) {
  using sf::Tensor;
  check_error_message([] { sf::compute::matmul(Tensor::zeros({32, 128}), Tensor::zeros({64, 16})); },
                      "matmul: inner dimensions differ: [32, 128] vs [64, 16]");
  check_error_message([] { sf::compute::matmul(Tensor::zeros({32, 128}), Tensor::zeros({64, 16}), false, true); },
                      "matmul: inner dimensions differ: [32, 128] vs [64, 16] (b transposed)");
  check_error_message(
      [] { sf::compute::matmul(Tensor::zeros({2, 3}), Tensor::zeros({3, 2}, sf::DType::Float64)); },
      "matmul: dtype mismatch: float32 [2, 3] vs float64 [3, 2]");
  check_error_message([] { sf::compute::matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 5})); },
                      "matmul: batch dimensions do not broadcast: [2, 3, 4] vs [3, 4, 5]");
  check_error_message([] { sf::compute::matmul(Tensor::zeros({3}), Tensor::zeros({3, 4})); },
                      "matmul: operands need at least 2 dims, got [3] vs [3, 4]");
  Tensor out = Tensor::zeros({2, 5});
  check_error_message([&] { sf::compute::matmul_into(out, Tensor::zeros({2, 3}), Tensor::zeros({3, 4}), false, false); },
                      "matmul_into: output shape [2, 5] differs from the product shape [2, 4] of [2, 3] and [3, 4]");
  Tensor transposed_out = Tensor::zeros({4, 2}).transpose(0, 1);
  check_error_message(
      [&] { sf::compute::matmul_into(transposed_out, Tensor::zeros({2, 3}), Tensor::zeros({3, 4}), false, false); },
      "matmul_into: the output float32 [2, 4] must be contiguous");
}

BOOST_AUTO_TEST_SUITE_END()
