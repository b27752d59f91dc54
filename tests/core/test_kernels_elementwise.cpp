// Elementwise kernels against their naive references (float32 and float64, sizes around the SIMD
// width), the tail rule (a range computed in odd pieces equals the range computed whole), the
// derivatives against central differences, and the pointer-level strided (broadcast) forms.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>
#include <array>

#include "sf/core/kernels/elementwise.hpp"
#include "test_kernels_util.hpp"

using sf::kernels::Binary;
using sf::kernels::Unary;
using sf::kernels::UnarySaved;

namespace {

const std::vector<Unary> kUnaryOps = {Unary::Negate,  Unary::Exp,      Unary::Log, Unary::Sqrt,   Unary::Tanh,
                                      Unary::Sigmoid, Unary::Relu,     Unary::GeluErf, Unary::GeluTanh,
                                      Unary::Abs,     Unary::Square,   Unary::Reciprocal};
const std::vector<Binary> kBinaryOps = {Binary::Add,     Binary::Subtract,  Binary::Multiply, Binary::Divide,
                                        Binary::Maximum, Binary::Minimum,   Binary::Equal,    Binary::NotEqual,
                                        Binary::Less,    Binary::LessEqual, Binary::Greater,  Binary::GreaterEqual};

// Inputs inside each op's domain: positive for log/sqrt/reciprocal, [-5, 5] otherwise.
template <class T>
std::vector<T> unary_inputs(Unary op, std::int64_t count, std::uint64_t seed) {
  const bool positive = op == Unary::Log || op == Unary::Sqrt || op == Unary::Reciprocal;
  return sf::test::random_values<T>(count, seed, positive ? 0.1 : -5.0, positive ? 4.0 : 5.0);
}

// The array `saved` that unary_backward reads for op: x, f(x) or nothing.
template <class T>
std::vector<T> saved_for(Unary op, const std::vector<T>& x) {
  std::vector<T> y(x.size());
  sf::kernels::unary_reference(op, x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  return sf::kernels::unary_saved(op) == UnarySaved::Output ? y : x;
}

// Calls kernel(begin, end) on uneven pieces of [0, count) whose boundaries are not multiples of
// the vector width.
template <class Kernel>
void run_in_pieces(std::int64_t count, Kernel&& kernel) {
  std::int64_t begin = 0, piece = 3;
  while (begin < count) {
    const std::int64_t end = std::min(count, begin + piece);
    kernel(begin, end);
    begin = end;
    piece = piece * 2 + 5;
  }
}

template <class T>
bool same_bytes(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

template <class T>
void check_unary_kernels() {
  const sf::test::Tolerance tolerance = sf::test::tolerance_for(sf::dtype_of<T>());
  for (Unary op : kUnaryOps)
    for (std::int64_t count : sf::test::kTailSizes) {
      const std::string context = std::string(sf::kernels::unary_name(op)) + " " +
                                  std::string(sf::dtype_name(sf::dtype_of<T>())) + " n=" + std::to_string(count);
      const std::vector<T> x = unary_inputs<T>(op, count, 11 + static_cast<std::uint64_t>(count));
      std::vector<T> y(x.size()), expected(x.size());
      sf::kernels::unary(op, x.data(), y.data(), count);
      sf::kernels::unary_reference(op, x.data(), expected.data(), count);
      sf::test::check_close_values(y.data(), expected.data(), count, tolerance, "forward " + context);

      const std::vector<T> grad = sf::test::random_values<T>(count, 99);
      const std::vector<T> saved = saved_for(op, x);
      std::vector<T> grad_x(x.size()), expected_grad(x.size());
      sf::kernels::unary_backward(op, saved.data(), grad.data(), grad_x.data(), count);
      sf::kernels::unary_backward_reference(op, saved.data(), grad.data(), expected_grad.data(), count);
      sf::test::check_close_values(grad_x.data(), expected_grad.data(), count, tolerance, "backward " + context);

      // The tail rule: pieces starting and ending mid-vector give the same bits.
      std::vector<T> pieces(x.size()), grad_pieces(x.size());
      run_in_pieces(count, [&](std::int64_t begin, std::int64_t end) {
        sf::kernels::unary(op, x.data() + begin, pieces.data() + begin, end - begin);
        sf::kernels::unary_backward(op, saved.data() + begin, grad.data() + begin, grad_pieces.data() + begin,
                                    end - begin);
      });
      BOOST_TEST_INFO("pieces " << context);
      BOOST_TEST(same_bytes(pieces, y));
      BOOST_TEST_INFO("backward pieces " << context);
      BOOST_TEST(same_bytes(grad_pieces, grad_x));
    }
}

template <class T>
void check_binary_kernels() {
  const sf::test::Tolerance tolerance = sf::test::tolerance_for(sf::dtype_of<T>());
  const std::vector<std::pair<std::int64_t, std::int64_t>> stride_pairs = {{1, 1}, {1, 0}, {0, 1}};
  for (Binary op : kBinaryOps)
    for (std::int64_t count : sf::test::kTailSizes)
      for (const auto& strides : stride_pairs) {
        const std::int64_t a_stride = strides.first, b_stride = strides.second;  // plain names: lambdas capture them
        const std::string context = std::string(sf::kernels::binary_name(op)) + " n=" + std::to_string(count) +
                                    " strides " + std::to_string(a_stride) + "," + std::to_string(b_stride);
        std::vector<T> a = sf::test::random_values<T>(std::max<std::int64_t>(count, 1), 5, 0.5, 3.0);
        std::vector<T> b = sf::test::random_values<T>(std::max<std::int64_t>(count, 1), 6, 0.5, 3.0);
        // Equal values in a third of the positions so Equal / LessEqual see ties.
        for (std::size_t index = 0; index < a.size(); index += 3) b[index] = a[index];
        if (a_stride == 0) b[0] = a[0];
        std::vector<T> out(static_cast<std::size_t>(count)), expected(static_cast<std::size_t>(count));
        sf::kernels::binary(op, a.data(), a_stride, b.data(), b_stride, out.data(), count);
        sf::kernels::binary_reference(op, a.data(), a_stride, b.data(), b_stride, expected.data(), count);
        sf::test::check_close_values(out.data(), expected.data(), count, tolerance, context);
        std::vector<T> pieces(out.size());
        run_in_pieces(count, [&](std::int64_t begin, std::int64_t end) {
          sf::kernels::binary(op, a.data() + begin * a_stride, a_stride, b.data() + begin * b_stride, b_stride,
                              pieces.data() + begin, end - begin);
        });
        BOOST_TEST_INFO("pieces " << context);
        BOOST_TEST(same_bytes(pieces, out));
      }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels_elementwise)

BOOST_AUTO_TEST_CASE(unary_forward_and_backward_match_reference_float) { check_unary_kernels<float>(); }
BOOST_AUTO_TEST_CASE(unary_forward_and_backward_match_reference_double) { check_unary_kernels<double>(); }
BOOST_AUTO_TEST_CASE(binary_matches_reference_float) { check_binary_kernels<float>(); }
BOOST_AUTO_TEST_CASE(binary_matches_reference_double) { check_binary_kernels<double>(); }

// The references share nothing with the SIMD code, but a wrong derivative formula could be wrong
// in both: check every derivative against central differences of the forward reference.
BOOST_AUTO_TEST_CASE(unary_derivatives_match_central_differences) {
  const std::int64_t count = 200;
  const double step = 1e-6;
  for (Unary op : kUnaryOps) {
    std::vector<double> x = unary_inputs<double>(op, count, 3);
    for (double& value : x)
      if (std::fabs(value) < 1e-3) value = 0.5;  // keep away from the kinks of relu and abs
    std::vector<double> plus(x), minus(x), f_plus(x.size()), f_minus(x.size()), ones(x.size(), 1.0);
    for (std::size_t index = 0; index < x.size(); ++index) {
      plus[index] += step;
      minus[index] -= step;
    }
    sf::kernels::unary_reference(op, plus.data(), f_plus.data(), count);
    sf::kernels::unary_reference(op, minus.data(), f_minus.data(), count);
    std::vector<double> numeric(x.size()), analytic(x.size()), analytic_reference(x.size());
    for (std::size_t index = 0; index < x.size(); ++index) numeric[index] = (f_plus[index] - f_minus[index]) / (2 * step);
    const std::vector<double> saved = saved_for(op, x);
    sf::kernels::unary_backward(op, saved.data(), ones.data(), analytic.data(), count);
    sf::kernels::unary_backward_reference(op, saved.data(), ones.data(), analytic_reference.data(), count);
    sf::test::check_close_values(analytic.data(), numeric.data(), count, {1e-6, 1e-7},
                                 std::string("derivative of ") + sf::kernels::unary_name(op));
    sf::test::check_close_values(analytic_reference.data(), numeric.data(), count, {1e-6, 1e-7},
                                 std::string("reference derivative of ") + sf::kernels::unary_name(op));
  }
}

BOOST_AUTO_TEST_CASE(forward_values_at_known_points) {
  const std::vector<float> x = {-1.0f, 0.0f, 2.0f};
  std::vector<float> y(3);
  sf::kernels::unary(Unary::GeluErf, x.data(), y.data(), 3);
  BOOST_TEST(y[0] == -0.15865525f, boost::test_tools::tolerance(1e-6f));  // -Φ(-1)
  BOOST_TEST(y[2] == 1.9544997f, boost::test_tools::tolerance(1e-6f));    // 2 Φ(2)
  sf::kernels::unary(Unary::GeluTanh, x.data(), y.data(), 3);
  BOOST_TEST(y[0] == -0.15880801f, boost::test_tools::tolerance(1e-6f));
  sf::kernels::unary(Unary::Sigmoid, x.data(), y.data(), 3);
  BOOST_TEST(y[1] == 0.5f);
  const std::vector<float> extremes = {-100.0f, 100.0f};
  std::vector<float> saturated(2);
  sf::kernels::unary(Unary::Sigmoid, extremes.data(), saturated.data(), 2);
  BOOST_TEST(saturated[0] >= 0.0f);
  BOOST_TEST(saturated[0] < 1e-40f);
  BOOST_TEST(saturated[1] == 1.0f);
  sf::kernels::unary(Unary::Relu, x.data(), y.data(), 3);
  BOOST_TEST((y == std::vector<float>{0.0f, 0.0f, 2.0f}));
}

BOOST_AUTO_TEST_CASE(maximum_minimum_and_relu_propagate_nan) {
  const double nan = std::nan("");
  const std::vector<double> a = {nan, 1.0, 2.0}, b = {1.0, nan, 1.0};
  std::vector<double> out(3);
  for (Binary op : {Binary::Maximum, Binary::Minimum}) {
    sf::kernels::binary(op, a.data(), 1, b.data(), 1, out.data(), 3);
    BOOST_TEST(std::isnan(out[0]));
    BOOST_TEST(std::isnan(out[1]));
    BOOST_TEST(out[2] == (op == Binary::Maximum ? 2.0 : 1.0));
  }
  sf::kernels::unary(Unary::Relu, a.data(), out.data(), 3);
  BOOST_TEST(std::isnan(out[0]));
  sf::kernels::clamp(a.data(), 0.0, 1.5, out.data(), 3);
  BOOST_TEST(std::isnan(out[0]));
  BOOST_TEST(out[2] == 1.5);
}

template <class T>
void check_other_kernels() {
  const sf::test::Tolerance tolerance = sf::test::tolerance_for(sf::dtype_of<T>());
  for (std::int64_t count : sf::test::kTailSizes) {
    const std::string context = std::string(sf::dtype_name(sf::dtype_of<T>())) + " n=" + std::to_string(count);
    const std::int64_t stored = std::max<std::int64_t>(count, 1);
    const std::vector<T> positive = sf::test::random_values<T>(stored, 21, 0.1, 3.0);
    const std::vector<T> signed_values = sf::test::random_values<T>(stored, 22, -3.0, 3.0);
    std::vector<T> out(static_cast<std::size_t>(count)), expected(static_cast<std::size_t>(count));

    for (T exponent : {T(2), T(1), T(0), T(0.5), T(-1), T(3), T(-2.5), T(1.7)}) {
      sf::kernels::power_scalar(positive.data(), exponent, out.data(), count);
      sf::kernels::power_scalar_reference(positive.data(), exponent, expected.data(), count);
      sf::test::check_close_values(out.data(), expected.data(), count, tolerance,
                                   "power " + std::to_string(exponent) + " " + context);
    }
    // Integer exponents of negative bases.
    sf::kernels::power_scalar(signed_values.data(), T(3), out.data(), count);
    sf::kernels::power_scalar_reference(signed_values.data(), T(3), expected.data(), count);
    sf::test::check_close_values(out.data(), expected.data(), count, tolerance, "power 3 of negatives " + context);

    sf::kernels::clamp(signed_values.data(), T(-1), T(0.5), out.data(), count);
    sf::kernels::clamp_reference(signed_values.data(), T(-1), T(0.5), expected.data(), count);
    sf::test::check_close_values(out.data(), expected.data(), count, {0, 0}, "clamp " + context);

    std::vector<T> condition = sf::test::random_values<T>(stored, 23, 0.0, 1.0);
    for (T& value : condition) value = value < T(0.5) ? T(0) : value;
    for (auto [c_stride, a_stride, b_stride] : std::vector<std::array<std::int64_t, 3>>{{1, 1, 1}, {0, 1, 1}, {1, 0, 1}, {1, 1, 0}}) {
      sf::kernels::where(condition.data(), c_stride, positive.data(), a_stride, signed_values.data(), b_stride,
                         out.data(), count);
      sf::kernels::where_reference(condition.data(), c_stride, positive.data(), a_stride, signed_values.data(),
                                   b_stride, expected.data(), count);
      sf::test::check_close_values(out.data(), expected.data(), count, {0, 0},
                                   "where " + std::to_string(c_stride) + std::to_string(a_stride) +
                                       std::to_string(b_stride) + " " + context);
    }
    for (auto [a_stride, b_stride] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 1}, {1, 0}, {0, 1}}) {
      sf::kernels::add_scaled(positive.data(), a_stride, signed_values.data(), b_stride, T(-0.75), out.data(), count);
      sf::kernels::add_scaled_reference(positive.data(), a_stride, signed_values.data(), b_stride, T(-0.75),
                                        expected.data(), count);
      sf::test::check_close_values(out.data(), expected.data(), count, tolerance, "add_scaled " + context);
    }
  }
}

BOOST_AUTO_TEST_CASE(power_clamp_where_add_scaled_match_reference) {
  check_other_kernels<float>();
  check_other_kernels<double>();
}

BOOST_AUTO_TEST_CASE(comparisons_give_one_or_zero) {
  const std::vector<float> a = {1, 2, 3}, b = {2, 2, 2};
  std::vector<float> out(3);
  const std::vector<std::pair<Binary, std::vector<float>>> expected = {
      {Binary::Equal, {0, 1, 0}},   {Binary::NotEqual, {1, 0, 1}}, {Binary::Less, {1, 0, 0}},
      {Binary::LessEqual, {1, 1, 0}}, {Binary::Greater, {0, 0, 1}}, {Binary::GreaterEqual, {0, 1, 1}}};
  for (const auto& [op, values] : expected) {
    sf::kernels::binary(op, a.data(), 1, b.data(), 1, out.data(), 3);
    BOOST_TEST_INFO(sf::kernels::binary_name(op));
    BOOST_TEST(out == values);
  }
}

BOOST_AUTO_TEST_CASE(saved_tensor_rules) {
  BOOST_TEST((sf::kernels::unary_saved(Unary::Negate) == UnarySaved::None));
  for (Unary op : {Unary::Exp, Unary::Sqrt, Unary::Tanh, Unary::Sigmoid, Unary::Reciprocal})
    BOOST_TEST((sf::kernels::unary_saved(op) == UnarySaved::Output));
  for (Unary op : {Unary::Log, Unary::Relu, Unary::GeluErf, Unary::GeluTanh, Unary::Abs, Unary::Square})
    BOOST_TEST((sf::kernels::unary_saved(op) == UnarySaved::Input));
}

BOOST_AUTO_TEST_SUITE_END()
