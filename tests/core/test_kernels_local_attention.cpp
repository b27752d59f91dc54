// The vectorized local-attention kernels against their scalar references: windows from 0 to
// wider than one vector, head sizes inside and across vector widths, masked keys and rows with no
// visible key, with and without the relative bias; bitwise equal for 1 and 2 threads; token-major
// rows ([B, L, H, Dh]) bitwise equal to head-major ones.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "sf/core/kernels/local_attention.hpp"
#include "test_kernels_util.hpp"
#include "test_util.hpp"

namespace {

struct Case {
  sf::kernels::LocalAttentionShape shape;
  bool bias, mask;
};

const std::vector<Case> kCases = {
    {{2, 2, 9, 4, 0}, false, false},  {{1, 1, 1, 3, 2}, true, false},   {{2, 3, 17, 8, 2}, true, true},
    {{2, 4, 40, 32, 8}, true, true},  {{1, 2, 33, 5, 7}, false, true},  {{3, 1, 50, 17, 12}, true, true},
    {{1, 2, 90, 6, 40}, true, true},    // band 81: 6 float vectors, one row at a time (no row blocks)
    {{1, 1, 300, 16, 70}, true, true},  // band 141: wider than 8 vectors, takes the reference path
    {{1, 2, 20, 70, 3}, true, true},    // Dh 70: more than 4 vectors of features, summed in chunks
};

template <class T>
void run_case(const Case& test_case, sf::DType dtype) {
  const auto& shape = test_case.shape;
  const std::int64_t n = shape.pairs() * shape.length * shape.head_dimension, band = shape.band();
  const std::string context = "B " + std::to_string(shape.batch) + " H " + std::to_string(shape.heads) + " L " +
                              std::to_string(shape.length) + " Dh " + std::to_string(shape.head_dimension) + " w " +
                              std::to_string(shape.window) + (test_case.mask ? " masked" : "") + " " +
                              std::string(sf::dtype_name(dtype));
  const auto q = sf::test::random_values<T>(n, 1), k = sf::test::random_values<T>(n, 2),
             v = sf::test::random_values<T>(n, 3), g = sf::test::random_values<T>(n, 4);
  const auto bias = sf::test::random_values<T>(shape.heads * band, 5);
  std::vector<T> keep(static_cast<std::size_t>(shape.batch * shape.length), T(1));
  if (test_case.mask) {
    // Every third key of batch 0 is padding; batch 1 (if any) keeps only its first key, so its
    // rows far from it see no key at all.
    for (std::int64_t j = 0; j < shape.length; ++j) {
      if (j % 3 == 2) keep[static_cast<std::size_t>(j)] = T(0);
      if (shape.batch > 1 && j > 0) keep[static_cast<std::size_t>(shape.length + j)] = T(0);
    }
  }
  const T scale = static_cast<T>(0.37);
  const T* bias_data = test_case.bias ? bias.data() : nullptr;
  const T* keep_data = test_case.mask ? keep.data() : nullptr;

  std::vector<T> p_ref(static_cast<std::size_t>(shape.pairs() * shape.length * band)), out_ref(q.size());
  sf::kernels::local_attention_forward_reference<T>(shape, q.data(), k.data(), v.data(), bias_data, keep_data, scale,
                                                    p_ref.data(), out_ref.data());
  std::vector<T> dq_ref(q.size()), dk_ref(q.size()), dv_ref(q.size()),
      dbias_ref(static_cast<std::size_t>(shape.pairs() * band));
  sf::kernels::local_attention_backward_reference<T>(shape, q.data(), k.data(), v.data(), p_ref.data(), g.data(),
                                                     scale, dq_ref.data(), dk_ref.data(), dv_ref.data(),
                                                     dbias_ref.data());
  const sf::test::Tolerance tolerance = dtype == sf::DType::Float32 ? sf::test::Tolerance{2e-5, 2e-6}
                                                                    : sf::test::Tolerance{1e-12, 1e-13};
  std::vector<std::vector<T>> first_run;
  for (int threads : {1, 2}) {
    sf::parallel::ThreadCountGuard guard(threads);
    std::vector<T> p(p_ref.size(), T(-7)), out(q.size(), T(-7));
    sf::kernels::local_attention_forward<T>(shape, q.data(), k.data(), v.data(), bias_data, keep_data, scale, p.data(),
                                            out.data());
    std::vector<T> dq(q.size(), T(-7)), dk(q.size(), T(-7)), dv(q.size(), T(-7)), dbias(dbias_ref.size(), T(-7));
    sf::kernels::local_attention_backward<T>(shape, q.data(), k.data(), v.data(), p_ref.data(), g.data(), scale,
                                             dq.data(), dk.data(), dv.data(), dbias.data());
    const std::string where = context + " threads " + std::to_string(threads);
    sf::test::check_close_values(p.data(), p_ref.data(), static_cast<std::int64_t>(p.size()), tolerance, where + " p");
    sf::test::check_close_values(out.data(), out_ref.data(), n, tolerance, where + " output");
    sf::test::check_close_values(dq.data(), dq_ref.data(), n, tolerance, where + " dq");
    sf::test::check_close_values(dk.data(), dk_ref.data(), n, tolerance, where + " dk");
    sf::test::check_close_values(dv.data(), dv_ref.data(), n, tolerance, where + " dv");
    sf::test::check_close_values(dbias.data(), dbias_ref.data(), static_cast<std::int64_t>(dbias.size()), tolerance,
                                 where + " dbias");
    const std::vector<std::vector<T>> run = {p, out, dq, dk, dv, dbias};
    if (threads == 1) first_run = run;
    else
      for (std::size_t index = 0; index < run.size(); ++index) {
        BOOST_TEST_INFO(where << " output " << index << " bitwise vs 1 thread");
        BOOST_TEST((run[index] == first_run[index]));
      }
  }
}

// [B, H, L, Dh] rows <-> [B, L, H, Dh] rows (token-major).
template <class T>
std::vector<T> to_token_major(const std::vector<T>& rows, const sf::kernels::LocalAttentionShape& shape, bool back) {
  std::vector<T> result(rows.size());
  const std::int64_t H = shape.heads, L = shape.length, Dh = shape.head_dimension;
  for (std::int64_t b = 0; b < shape.batch; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t i = 0; i < L; ++i)
        for (std::int64_t d = 0; d < Dh; ++d) {
          const auto head_major = static_cast<std::size_t>(((b * H + h) * L + i) * Dh + d);
          const auto token_major = static_cast<std::size_t>(((b * L + i) * H + h) * Dh + d);
          if (back) result[head_major] = rows[token_major];
          else result[token_major] = rows[head_major];
        }
  return result;
}

// The forward on token-major rows gives the bits of the forward on [B, H, L, Dh] rows, fast and
// reference kernels alike, at 1 and 2 threads.
template <class T>
void check_token_major(const Case& test_case) {
  sf::kernels::LocalAttentionShape shape = test_case.shape;
  const std::int64_t n = shape.pairs() * shape.length * shape.head_dimension;
  const auto q = sf::test::random_values<T>(n, 11), k = sf::test::random_values<T>(n, 12),
             v = sf::test::random_values<T>(n, 13);
  const auto bias = sf::test::random_values<T>(shape.heads * shape.band(), 14);
  std::vector<T> keep(static_cast<std::size_t>(shape.batch * shape.length), T(1));
  if (test_case.mask)
    for (std::size_t j = 0; j < keep.size(); j += 3) keep[j] = T(0);
  const T* bias_data = test_case.bias ? bias.data() : nullptr;
  const T* keep_data = test_case.mask ? keep.data() : nullptr;
  const std::size_t probabilities = static_cast<std::size_t>(shape.pairs() * shape.length * shape.band());
  for (bool reference : {false, true}) {
    const auto forward = reference ? &sf::kernels::local_attention_forward_reference<T>
                                   : &sf::kernels::local_attention_forward<T>;
    shape.token_major = false;
    std::vector<T> p_rows(probabilities), out_rows(q.size());
    forward(shape, q.data(), k.data(), v.data(), bias_data, keep_data, T(0.37), p_rows.data(), out_rows.data());
    shape.token_major = true;
    const auto qt = to_token_major(q, shape, false), kt = to_token_major(k, shape, false),
               vt = to_token_major(v, shape, false);
    for (int threads : {1, 2}) {
      sf::parallel::ThreadCountGuard guard(threads);
      std::vector<T> p(probabilities, T(-7)), out(q.size(), T(-7));
      forward(shape, qt.data(), kt.data(), vt.data(), bias_data, keep_data, T(0.37), p.data(), out.data());
      BOOST_TEST_INFO("B " << shape.batch << " H " << shape.heads << " L " << shape.length << " Dh "
                           << shape.head_dimension << " w " << shape.window << (reference ? " reference" : " fast")
                           << " threads " << threads);
      BOOST_TEST((p == p_rows && to_token_major(out, shape, true) == out_rows));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(local_attention_kernels)

BOOST_AUTO_TEST_CASE(token_major_rows_give_the_bits_of_head_major_rows) {
  for (const Case& test_case : kCases) {
    check_token_major<float>(test_case);
    check_token_major<double>(test_case);
  }
  sf::kernels::LocalAttentionShape shape{1, 2, 4, 3, 1};
  shape.token_major = true;
  std::vector<float> rows(24), probabilities(24), grad_bias(6);
  sf::test::check_error_message(
      [&] {
        sf::kernels::local_attention_backward<float>(shape, rows.data(), rows.data(), rows.data(), probabilities.data(),
                                                     rows.data(), 1.0f, rows.data(), rows.data(), rows.data(),
                                                     grad_bias.data());
      },
      "local_attention_backward: takes [B, H, L, Dh] rows, not token-major ones");
}

BOOST_AUTO_TEST_CASE(fast_kernels_equal_the_references) {
  for (const Case& test_case : kCases) {
    run_case<float>(test_case, sf::DType::Float32);
    run_case<double>(test_case, sf::DType::Float64);
  }
}

BOOST_AUTO_TEST_CASE(a_row_without_visible_keys_gives_zeros) {
  const sf::kernels::LocalAttentionShape shape{1, 1, 4, 3, 1};
  const std::vector<float> q(12, 1.0f), k(12, 1.0f), v(12, 5.0f), keep = {0, 0, 0, 1};
  std::vector<float> p(12, -1.0f), out(12, -1.0f);
  sf::kernels::local_attention_forward<float>(shape, q.data(), k.data(), v.data(), nullptr, keep.data(), 1.0f, p.data(),
                                              out.data());
  for (std::int64_t index = 0; index < 6; ++index) BOOST_TEST(out[static_cast<std::size_t>(index)] == 0.0f);  // rows 0, 1
  for (std::int64_t index = 0; index < 6; ++index) BOOST_TEST(p[static_cast<std::size_t>(index)] == 0.0f);
  BOOST_TEST(out[6] == 5.0f);  // row 2 sees only key 3
  BOOST_TEST(p[8] == 1.0f);
}

BOOST_AUTO_TEST_SUITE_END()
