// The bfloat16 GEMM: rounding (ties to even, NaN, Inf, subnormals to zero), the packing's vectorized
// rounding equal to the scalar rule, every path against a float64 reference of the rounded
// operands on awkward shapes and all transposes, 1 vs 2 threads bit for bit, the batched form
// equal to one call per entry, the fused bias equal to its two steps, bfloat16 operands equal to
// their float32 values, SF_ISA.
// The AVX512-BF16 path is skipped, with a message, on a CPU without it.
//
// Tolerance: the operands are rounded to bfloat16 by both sides, so what remains is the float32
// accumulation: |ours − reference| ≤ 2·(K + 2)·ε₃₂·(|α|·(|A|·|B|)_ij + |β|·|c_ij|).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sf/core/kernels/amx_tiles.hpp"
#include "sf/core/kernels/gemm_bf16.hpp"
#include "sf/core/parallel.hpp"
#include "test_util.hpp"

using sf::kernels::Bfloat16Path;
using sf::kernels::Transpose;

namespace {

float from_bits(std::uint32_t bits) { return std::bit_cast<float>(bits); }
std::uint16_t to_bf16(float value) { return sf::kernels::float_to_bfloat16(value); }

// Every path this CPU runs; amx-model stands in for amx where the CPU has no AMX.
std::vector<Bfloat16Path> available_paths() {
  std::vector<Bfloat16Path> paths{Bfloat16Path::Emulated};
  if (!sf::kernels::bfloat16_path_available(Bfloat16Path::Avx512Bf16)) {
    BOOST_TEST_MESSAGE("skipped: the avx512bf16, amx-model and amx paths (this CPU has no AVX512-BF16)");
    return paths;
  }
  paths.push_back(Bfloat16Path::Avx512Bf16);
  paths.push_back(Bfloat16Path::AmxModel);
  if (sf::kernels::bfloat16_path_available(Bfloat16Path::Amx))
    paths.push_back(Bfloat16Path::Amx);
  else
    BOOST_TEST_MESSAGE("skipped: the amx path (this CPU has no AMX, or Linux refused its tile data)");
  return paths;
}

std::vector<float> random_matrix(std::int64_t count, std::uint32_t seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<float> values(static_cast<std::size_t>(count));
  for (float& value : values) value = uniform(generator);
  return values;
}

// C = alpha · bf16(op(A)) · bf16(op(B)) + beta · C in float64, with the bound of the header.
void check_against_reference(Bfloat16Path path, Transpose ta, Transpose tb, std::int64_t M, std::int64_t N,
                             std::int64_t K, float alpha, float beta) {
  const std::int64_t lda = (ta == Transpose::No ? K : M) + 3, ldb = (tb == Transpose::No ? N : K) + 1, ldc = N + 2;
  const std::vector<float> A = random_matrix((ta == Transpose::No ? M : K) * lda, 11);
  const std::vector<float> B = random_matrix((tb == Transpose::No ? K : N) * ldb, 12);
  std::vector<float> C = random_matrix(M * ldc, 13);
  const std::vector<float> C0 = C;
  sf::kernels::gemm_bfloat16(path, ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  auto a = [&](std::int64_t i, std::int64_t k) {
    return static_cast<double>(sf::kernels::round_to_bfloat16(ta == Transpose::No ? A[i * lda + k] : A[k * lda + i]));
  };
  auto b = [&](std::int64_t k, std::int64_t j) {
    return static_cast<double>(sf::kernels::round_to_bfloat16(tb == Transpose::No ? B[k * ldb + j] : B[j * ldb + k]));
  };
  const double epsilon = std::numeric_limits<float>::epsilon() / 2;
  int failures = 0;
  for (std::int64_t i = 0; i < M; ++i) {
    for (std::int64_t j = 0; j < N; ++j) {
      double sum = 0, magnitude = 0;
      for (std::int64_t k = 0; k < K; ++k) {
        sum += a(i, k) * b(k, j);
        magnitude += std::abs(a(i, k) * b(k, j));
      }
      const double c0 = C0[static_cast<std::size_t>(i * ldc + j)];
      const double expected = alpha * sum + (beta == 0.0f ? 0.0 : beta * c0);
      const double bound = 2.0 * static_cast<double>(K + 2) * epsilon * (std::abs(alpha) * magnitude + std::abs(beta * c0));
      const double got = C[static_cast<std::size_t>(i * ldc + j)];
      if (!(std::abs(got - expected) <= bound) && failures++ < 3)
        BOOST_ERROR(sf::kernels::bfloat16_path_name(path) << " M=" << M << " N=" << N << " K=" << K << " ta="
                    << (ta == Transpose::Yes) << " tb=" << (tb == Transpose::Yes) << " C(" << i << "," << j
                    << ") = " << got << ", expected " << expected << " ± " << bound);
    }
  }
  // The row padding of C is never written.
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t j = N; j < ldc; ++j)
      BOOST_TEST(std::bit_cast<std::uint32_t>(C[static_cast<std::size_t>(i * ldc + j)]) ==
                 std::bit_cast<std::uint32_t>(C0[static_cast<std::size_t>(i * ldc + j)]));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gemm_bf16)

BOOST_AUTO_TEST_CASE(rounding_is_to_nearest_even_and_keeps_specials) {
  BOOST_TEST(to_bf16(1.0f) == 0x3f80);
  BOOST_TEST(to_bf16(from_bits(0x3f808000)) == 0x3f80);  // 1 + 2^-8: a tie, 1.0 is even
  BOOST_TEST(to_bf16(from_bits(0x3f818000)) == 0x3f82);  // 1 + 3·2^-8: a tie, up to the even neighbour
  BOOST_TEST(to_bf16(from_bits(0x3f808001)) == 0x3f81);  // just above the tie: up
  BOOST_TEST(to_bf16(from_bits(0x3f807fff)) == 0x3f80);  // just below: down
  BOOST_TEST(to_bf16(from_bits(0xbf818000)) == 0xbf82);  // negative ties likewise
  BOOST_TEST(to_bf16(std::numeric_limits<float>::infinity()) == 0x7f80);
  BOOST_TEST(to_bf16(-std::numeric_limits<float>::infinity()) == 0xff80);
  BOOST_TEST(to_bf16(-0.0f) == 0x8000);
  BOOST_TEST(to_bf16(std::numeric_limits<float>::max()) == 0x7f80);  // rounds up past the largest bfloat16
  for (std::uint32_t nan : {0x7f800001u, 0x7fc00000u, 0xff800001u, 0x7fffffffu}) {
    BOOST_TEST_INFO("NaN bits " << nan);
    BOOST_TEST(std::isnan(sf::kernels::bfloat16_to_float(to_bf16(from_bits(nan)))));  // never Inf
  }
  // Subnormals become zero of their sign (VCVTNE2PS2BF16's rule), even the largest, which
  // rounding alone would carry up to the smallest normal bfloat16.
  BOOST_TEST(to_bf16(from_bits(0x00010000)) == 0x0000);
  BOOST_TEST(to_bf16(from_bits(0x80018000)) == 0x8000);
  BOOST_TEST(to_bf16(from_bits(0x007fffff)) == 0x0000);
  BOOST_TEST(to_bf16(from_bits(0x00800000)) == 0x0080);  // the smallest normal float32 is kept
  BOOST_TEST(sf::kernels::bfloat16_to_float(0x4049) == from_bits(0x40490000));
}

// A · I = bf16(A) exactly on every path and layout: the packing's vectorized rounding (ties,
// odd K, partial vectors) equals the scalar rule. Then NaN and Inf through a 1 × 1 × 1 product
// (in a longer sum Inf · 0 would make NaN anyway).
BOOST_AUTO_TEST_CASE(packing_rounds_like_the_scalar_rule) {
  const std::vector<std::uint32_t> ties{0x3f808000, 0x3f818000, 0x3f808001, 0xbf818000, 0x3f807fff, 0x40490fdb,
                                        0x4b7fffff, 0x007fffff, 0x80018000, 0x00800000};  // and subnormals
  for (Bfloat16Path path : available_paths()) {
    for (std::int64_t K : {1, 7, 33}) {
      for (Transpose ta : {Transpose::No, Transpose::Yes}) {
        for (Transpose tb : {Transpose::No, Transpose::Yes}) {
          const std::int64_t M = 19;
          std::vector<float> A(static_cast<std::size_t>(M * K));
          for (std::size_t index = 0; index < A.size(); ++index)
            A[index] = index % 3 == 0 ? from_bits(ties[index / 3 % ties.size()]) : 0.37f * static_cast<float>(index);
          std::vector<float> identity(static_cast<std::size_t>(K * K), 0.0f);
          for (std::int64_t k = 0; k < K; ++k) identity[static_cast<std::size_t>(k * K + k)] = 1.0f;
          std::vector<float> stored = A;  // op(A) = the M × K matrix above whatever its storage
          if (ta == Transpose::Yes)
            for (std::int64_t i = 0; i < M; ++i)
              for (std::int64_t k = 0; k < K; ++k)
                stored[static_cast<std::size_t>(k * M + i)] = A[static_cast<std::size_t>(i * K + k)];
          std::vector<float> C(static_cast<std::size_t>(M * K), -1.0f);
          sf::kernels::gemm_bfloat16(path, ta, tb, M, K, K, 1.0f, stored.data(), ta == Transpose::No ? K : M,
                                     identity.data(), K, 0.0f, C.data(), K);
          for (std::size_t index = 0; index < A.size(); ++index) {
            BOOST_TEST_INFO(sf::kernels::bfloat16_path_name(path) << " K=" << K << " element " << index);
            BOOST_TEST(C[index] == sf::kernels::round_to_bfloat16(A[index]));
          }
        }
      }
    }
    const float one = 1.0f, infinity = std::numeric_limits<float>::infinity();
    for (std::uint32_t bits : {0x7f800000u, 0xff800000u, 0x7f7fffffu, 0x7fc00000u, 0x7f800001u}) {
      const float a = from_bits(bits);
      float c = 0.0f;
      sf::kernels::gemm_bfloat16(path, Transpose::No, Transpose::No, 1, 1, 1, 1.0f, &a, 1, &one, 1, 0.0f, &c, 1);
      BOOST_TEST_INFO(sf::kernels::bfloat16_path_name(path) << " bits " << bits);
      if (std::isnan(a))
        BOOST_TEST(std::isnan(c));
      else
        BOOST_TEST(c == (std::signbit(a) ? -infinity : infinity));  // 0x7f7fffff rounds up to Inf
    }
  }
}

BOOST_AUTO_TEST_CASE(every_path_matches_the_reference) {
  const std::vector<std::array<std::int64_t, 3>> shapes{{1, 1, 1},   {3, 5, 2},    {14, 32, 8},  {15, 33, 9},
                                                        {29, 70, 31}, {13, 31, 1}, {260, 40, 530}, {40, 530, 17},
                                                        {40, 33, 4100}};  // the last cut into parts along K
  for (Bfloat16Path path : available_paths())
    for (const auto& [M, N, K] : shapes)
      for (Transpose ta : {Transpose::No, Transpose::Yes})
        for (Transpose tb : {Transpose::No, Transpose::Yes}) {
          check_against_reference(path, ta, tb, M, N, K, 1.0f, 0.0f);
          check_against_reference(path, ta, tb, M, N, K, -0.5f, 1.5f);
        }
}

// The packed operands are padded with zeros up to whole tiles along k (the amx paths) in scratch
// buffers that the previous product filled: NaN left there from an all-NaN product must not
// reach the next one (0 · NaN is NaN). One thread, so that both products use the same buffers.
BOOST_AUTO_TEST_CASE(a_previous_products_values_never_leak_into_the_next) {
  sf::parallel::ThreadCountGuard guard(1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> nans(64 * 64, nan);
  std::vector<float> C(64 * 64);
  for (Bfloat16Path path : available_paths())
    for (Transpose ta : {Transpose::No, Transpose::Yes})
      for (Transpose tb : {Transpose::No, Transpose::Yes}) {
        sf::kernels::gemm_bfloat16(path, ta, tb, 40, 40, 64, 1.0f, nans.data(), 64, nans.data(), 64, 0.0f, C.data(),
                                   64);
        check_against_reference(path, ta, tb, 40, 40, 33, 1.0f, 0.0f);
      }
}

// Also a weight gradient's shape (TN, cut into parts along K), and 3 threads: more than its parts.
BOOST_AUTO_TEST_CASE(the_same_bits_on_one_and_two_threads) {
  const std::vector<std::array<std::int64_t, 3>> shapes{{600, 700, 530}, {128, 96, 6000}};
  for (Bfloat16Path path : available_paths())
    for (const auto& [M, N, K] : shapes)
      for (Transpose ta : {Transpose::No, Transpose::Yes}) {
        const std::vector<float> A = random_matrix(M * K, 21), B = random_matrix(N * K, 22);
        const std::int64_t lda = ta == Transpose::No ? K : M;
        std::vector<float> results[3];
        for (int threads : {1, 2, 3}) {
          sf::parallel::ThreadCountGuard guard(threads);
          results[threads - 1].resize(static_cast<std::size_t>(M * N));
          sf::kernels::gemm_bfloat16(path, ta, Transpose::Yes, M, N, K, 1.0f, A.data(), lda, B.data(), K, 0.0f,
                                     results[threads - 1].data(), N);
        }
        BOOST_TEST_INFO(sf::kernels::bfloat16_path_name(path) << " M=" << M << " N=" << N << " K=" << K);
        BOOST_TEST(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)) == 0);
        BOOST_TEST(std::memcmp(results[0].data(), results[2].data(), results[0].size() * sizeof(float)) == 0);
      }
}

// The batched form gives each entry the bits of its own gemm_bfloat16 call, whether it runs the
// entries one per task (small ones) or one after another, on 1 and 2 threads; padded strides.
BOOST_AUTO_TEST_CASE(batched_entries_equal_their_own_calls) {
  const std::vector<std::array<std::int64_t, 4>> cases{{6, 32, 16, 8}, {3, 29, 45, 70}, {2, 300, 200, 40}};
  for (Bfloat16Path path : available_paths())
    for (const auto& [batch, M, N, K] : cases)
      for (Transpose ta : {Transpose::No, Transpose::Yes})
        for (Transpose tb : {Transpose::No, Transpose::Yes})
          for (std::size_t threads : {1u, 2u}) {
            sf::parallel::ThreadCountGuard guard(threads);
            const std::int64_t lda = (ta == Transpose::No ? K : M) + 1, ldb = (tb == Transpose::No ? N : K) + 2;
            const std::int64_t ldc = N + 3, stride_a = (ta == Transpose::No ? M : K) * lda + 5;
            const std::int64_t stride_b = (tb == Transpose::No ? K : N) * ldb + 7, stride_c = M * ldc + 4;
            const std::vector<float> A = random_matrix(batch * stride_a, 31), B = random_matrix(batch * stride_b, 32);
            std::vector<float> batched = random_matrix(batch * stride_c, 33), separate = batched;
            sf::kernels::gemm_bfloat16_batched_strided(path, ta, tb, batch, M, N, K, 0.75f, A.data(), lda, stride_a,
                                                       B.data(), ldb, stride_b, 0.5f, batched.data(), ldc, stride_c);
            for (std::int64_t entry = 0; entry < batch; ++entry)
              sf::kernels::gemm_bfloat16(path, ta, tb, M, N, K, 0.75f, A.data() + entry * stride_a, lda,
                                         B.data() + entry * stride_b, ldb, 0.5f, separate.data() + entry * stride_c, ldc);
            BOOST_TEST_INFO(sf::kernels::bfloat16_path_name(path) << " batch " << batch << " M=" << M << " N=" << N
                            << " K=" << K << " threads " << threads);
            BOOST_TEST(std::memcmp(batched.data(), separate.data(), batched.size() * sizeof(float)) == 0);
          }
  std::vector<float> C(64);
  sf::test::check_error_message(
      [&] {
        sf::kernels::gemm_bfloat16_batched_strided(Transpose::No, Transpose::No, 2, 4, 4, 2, 1.0f, C.data(), 2, 8,
                                                   C.data(), 4, 8, 0.0f, C.data(), 4, 8);
      },
      "gemm_bfloat16_batched_strided: stride_c 8 makes the C matrices [4, 4] (ldc 4) of the 2 entries overlap");
}

// The fused bias gives the bits of the two steps it replaced (the bias copied into every row of C,
// then beta = 1), never reads C's old content (NaN here) nor writes its padding: right-edge tiles
// narrower than 32 columns, K deeper than one slice (the bias in the first only), a product cut
// into parts along K, every transpose, padded leading dimensions, 1 and 2 threads.
BOOST_AUTO_TEST_CASE(the_fused_bias_equals_copying_it_then_accumulating) {
  const std::vector<std::array<std::int64_t, 3>> shapes{{1, 1, 1},    {15, 33, 9},    {29, 70, 31},
                                                        {300, 64, 1100}, {40, 33, 4100}, {7, 5, 0}};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (Bfloat16Path path : available_paths())
    for (const auto& [M, N, K] : shapes)
      for (Transpose ta : {Transpose::No, Transpose::Yes})
        for (Transpose tb : {Transpose::No, Transpose::Yes})
          for (std::size_t threads : {1u, 2u}) {
            sf::parallel::ThreadCountGuard guard(threads);
            const std::int64_t lda = (ta == Transpose::No ? K : M) + 3, ldb = (tb == Transpose::No ? N : K) + 1;
            const std::int64_t ldc = N + 2;
            const std::int64_t a_rows = ta == Transpose::No ? M : K, b_rows = tb == Transpose::No ? K : N;
            const std::vector<float> A = random_matrix(std::max<std::int64_t>(1, a_rows * lda), 41);
            const std::vector<float> B = random_matrix(std::max<std::int64_t>(1, b_rows * ldb), 42);
            const std::vector<float> bias = random_matrix(N, 43);
            std::vector<float> fused(static_cast<std::size_t>(M * ldc), nan), two_step = fused;
            sf::kernels::gemm_bfloat16_with_bias(path, ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb,
                                                 bias.data(), fused.data(), ldc);
            for (std::int64_t row = 0; row < M; ++row)
              std::copy(bias.begin(), bias.end(), two_step.begin() + row * ldc);
            sf::kernels::gemm_bfloat16(path, ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, 1.0f,
                                       two_step.data(), ldc);
            BOOST_TEST_INFO(sf::kernels::bfloat16_path_name(path) << " M=" << M << " N=" << N << " K=" << K
                            << " ta " << (ta == Transpose::Yes) << " tb " << (tb == Transpose::Yes) << " threads "
                            << threads);
            // memcmp: the padding of C must still be the same NaN bits on both sides.
            BOOST_TEST(std::memcmp(fused.data(), two_step.data(), fused.size() * sizeof(float)) == 0);
          }
  std::vector<float> C(4);
  sf::test::check_error_message(
      [&] {
        sf::kernels::gemm_bfloat16_with_bias(Transpose::No, Transpose::No, 2, 2, 1, 1.0f, C.data(), 1, C.data(), 2,
                                             nullptr, C.data(), 2);
      },
      "gemm_bfloat16_with_bias: the bias of C [2, 2] is null");
}

// bfloat16 operands give the bits of the float32 GEMM on their float32 values: every transpose,
// odd K (the last pair half empty), K deeper than one slice and cut into parts, even and odd
// leading dimensions, A read in place (K and lda even), packed because its rows are 2 KiB apart
// or because it starts off a 4-byte boundary, 1 and 2 threads. The padding of A and B holds
// NaN: reading past a row would show.
BOOST_AUTO_TEST_CASE(bfloat16_operands_give_the_bits_of_their_float32_values) {
  struct Case {
    std::int64_t M, N, K, lda_extra, a_offset;
  };
  const std::vector<Case> cases{{1, 1, 1, 0, 0},    {15, 33, 9, 3, 0},    {29, 70, 32, 2, 0},  {29, 70, 32, 1, 0},
                                {29, 70, 32, 2, 1}, {300, 64, 1100, 2, 0}, {40, 33, 4100, 0, 0}, {45, 40, 1024, 0, 0},
                                {7, 5, 0, 1, 0}};
  const std::uint16_t nan_bits = 0x7fc0;
  for (Bfloat16Path path : available_paths())
    for (const Case& shape : cases)
      for (Transpose ta : {Transpose::No, Transpose::Yes})
        for (Transpose tb : {Transpose::No, Transpose::Yes})
          for (std::size_t threads : {1u, 2u}) {
            sf::parallel::ThreadCountGuard guard(threads);
            const auto [M, N, K, lda_extra, a_offset] = shape;
            const std::int64_t lda = (ta == Transpose::No ? K : M) + lda_extra, ldb = (tb == Transpose::No ? N : K) + 1;
            const std::int64_t a_rows = ta == Transpose::No ? M : K, b_rows = tb == Transpose::No ? K : N;
            const std::int64_t a_columns = ta == Transpose::No ? K : M, b_columns = tb == Transpose::No ? N : K;
            auto make = [&](std::int64_t rows, std::int64_t ld, std::int64_t columns, std::int64_t offset,
                            std::uint32_t seed) {
              const std::vector<float> values = random_matrix(std::max<std::int64_t>(1, rows * ld + offset), seed);
              std::vector<std::uint16_t> bits(values.size(), nan_bits);
              for (std::int64_t row = 0; row < rows; ++row)
                for (std::int64_t column = 0; column < columns; ++column) {
                  const std::size_t at = static_cast<std::size_t>(offset + row * ld + column);
                  bits[at] = to_bf16(values[at]);
                }
              std::vector<float> as_float(bits.size());
              for (std::size_t at = 0; at < bits.size(); ++at) as_float[at] = sf::kernels::bfloat16_to_float(bits[at]);
              return std::make_pair(bits, as_float);
            };
            const auto [a_bits, a_float] = make(a_rows, lda, a_columns, a_offset, 51);
            const auto [b_bits, b_float] = make(b_rows, ldb, b_columns, 0, 52);
            const std::vector<float> C0 = random_matrix(std::max<std::int64_t>(1, M * N), 53);
            std::vector<float> from_bits = C0, from_floats = C0;
            sf::kernels::gemm_bfloat16(path, ta, tb, M, N, K, 0.75f, a_bits.data() + a_offset, lda, b_bits.data(), ldb,
                                       0.5f, from_bits.data(), N);
            sf::kernels::gemm_bfloat16(path, ta, tb, M, N, K, 0.75f, a_float.data() + a_offset, lda, b_float.data(),
                                       ldb, 0.5f, from_floats.data(), N);
            BOOST_TEST_INFO(sf::kernels::bfloat16_path_name(path) << " M=" << M << " N=" << N << " K=" << K << " lda "
                            << lda << " A offset " << a_offset << " ta " << (ta == Transpose::Yes) << " tb "
                            << (tb == Transpose::Yes) << " threads " << threads);
            BOOST_TEST(std::memcmp(from_bits.data(), from_floats.data(), from_bits.size() * sizeof(float)) == 0);
          }
}

// amx-model stands for the instructions on every other machine, so on one with AMX the model
// must agree with them: random tiles through TDPBF16PS both ways (4 accumulations, so the sums
// carry), within float32 rounding of the summation order; subnormal inputs read as zero. Skipped,
// with a message, where the CPU has no AMX.
BOOST_AUTO_TEST_CASE(the_tile_model_matches_the_instructions) {
  if (!sf::kernels::bfloat16_path_available(Bfloat16Path::Amx)) {
    BOOST_TEST_MESSAGE("skipped: the tile model against AMX (this CPU has no AMX, or Linux refused its tile data)");
    return;
  }
  namespace amx = sf::kernels::amx;
  const std::vector<float> values = random_matrix(3 * 256, 61);
  alignas(64) std::uint32_t a[256], b[256];
  for (int word = 0; word < 256; ++word) {
    a[word] = to_bf16(values[word]) | static_cast<std::uint32_t>(to_bf16(values[256 + word])) << 16;
    b[word] = to_bf16(values[512 + word]) | static_cast<std::uint32_t>(to_bf16(-values[word])) << 16;
  }
  // Row 0 of A: two subnormal bfloat16 (2^-133) in pair 0, zero after; B's pair 0 is 2^126 (and
  // the other rows' pair 0 zero), so row 0 of C is 4 · 2 · 2^-7 unless the subnormals read as 0.
  for (int pair = 1; pair < 16; ++pair) a[pair] = 0;
  for (int row = 1; row < 16; ++row) a[row * 16] = 0;
  a[0] = 0x00010001u;
  for (int column = 0; column < 16; ++column) b[column] = 0x7e807e80u;
  alignas(64) float hardware[256], model[256];
  amx::HardwareTiles instructions;
  amx::ModelTiles scalar;
  const auto run = [&](auto& tiles, float* out) {
    tiles.configure(amx::TileConfig{});
    tiles.template zero<0>();
    tiles.template load<4>(a, 64);
    tiles.template load<6>(b, 64);
    for (int repeat = 0; repeat < 4; ++repeat) tiles.template dot_bfloat16<0, 4, 6>();
    tiles.template store<0>(out, 64);
    tiles.release();
  };
  run(instructions, hardware);
  run(scalar, model);
  int identical = 0;
  for (int element = 0; element < 256; ++element) {
    double magnitude = 0;
    for (int pair = 0; pair < 16; ++pair)
      for (int half = 0; half < 2; ++half) {
        const auto part = [&](std::uint32_t word) { return sf::kernels::bfloat16_to_float(static_cast<std::uint16_t>(word >> (16 * half))); };
        magnitude += 4.0 * std::abs(static_cast<double>(part(a[element / 16 * 16 + pair])) * part(b[pair * 16 + element % 16]));
      }
    BOOST_TEST_INFO("element " << element << ": instructions " << hardware[element] << ", model " << model[element]);
    BOOST_TEST(std::abs(static_cast<double>(hardware[element]) - model[element]) <=
               2.0 * 128 * std::numeric_limits<float>::epsilon() * magnitude);
    identical += std::bit_cast<std::uint32_t>(hardware[element]) == std::bit_cast<std::uint32_t>(model[element]);
  }
  BOOST_TEST_MESSAGE("the tile model gave the instructions' bits on " << identical << " of 256 elements");
  for (int column = 0; column < 16; ++column) BOOST_TEST((hardware[column] == 0.0f && model[column] == 0.0f));
}

BOOST_AUTO_TEST_CASE(sf_isa_selects_a_path_and_refuses_unknown_ones) {
  ::setenv("SF_ISA", "emulated", 1);
  BOOST_TEST((sf::kernels::bfloat16_path() == Bfloat16Path::Emulated));
  ::setenv("SF_ISA", "avx9000", 1);
  sf::test::check_error_message([] { (void)sf::kernels::bfloat16_path(); },
                                "SF_ISA='avx9000': the bfloat16 GEMM knows amx, avx512bf16, amx-model and emulated");
  ::unsetenv("SF_ISA");
  BOOST_TEST((sf::kernels::bfloat16_path() == Bfloat16Path::Avx512Bf16) ==
             sf::kernels::bfloat16_path_available(Bfloat16Path::Avx512Bf16));
}

BOOST_AUTO_TEST_SUITE_END()
