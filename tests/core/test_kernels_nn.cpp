// Softmax / log-softmax and layer norm: kernels against naive references (float32 and float64,
// row lengths around the SIMD width), fully and partly masked rows, backward passes against central
// differences in float64, the tensor functions and their errors.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "sf/core/compute.hpp"
#include "sf/core/kernels/layer_norm.hpp"
#include "sf/core/kernels/softmax.hpp"
#include "test_kernels_util.hpp"
#include "test_util.hpp"

using sf::Shape;
using sf::Tensor;
using sf::test::check_error_message;

namespace {

constexpr std::int64_t kRows = 3;

template <class T>
void check_softmax_kernels() {
  const sf::test::Tolerance tolerance = sf::test::tolerance_for(sf::dtype_of<T>());
  for (std::int64_t length : sf::test::kTailSizes) {
    const std::string context = std::string(sf::dtype_name(sf::dtype_of<T>())) + " length " + std::to_string(length);
    const std::int64_t count = kRows * length;
    std::vector<T> x = sf::test::random_values<T>(count, 200, -8.0, 8.0);
    if (length > 2) x[1] = T(900);  // a large logit must not overflow
    const std::vector<T> grad = sf::test::random_values<T>(count, 201);
    std::vector<T> y(x.size()), expected(x.size()), grad_x(x.size()), expected_grad(x.size());

    sf::kernels::softmax(x.data(), y.data(), kRows, length);
    sf::kernels::softmax_reference(x.data(), expected.data(), kRows, length);
    sf::test::check_close_values(y.data(), expected.data(), count, tolerance, "softmax " + context);
    sf::kernels::softmax_backward(y.data(), grad.data(), grad_x.data(), kRows, length);
    sf::kernels::softmax_backward_reference(y.data(), grad.data(), expected_grad.data(), kRows, length);
    sf::test::check_close_values(grad_x.data(), expected_grad.data(), count, tolerance, "softmax_backward " + context);

    sf::kernels::log_softmax(x.data(), y.data(), kRows, length);
    sf::kernels::log_softmax_reference(x.data(), expected.data(), kRows, length);
    sf::test::check_close_values(y.data(), expected.data(), count, tolerance, "log_softmax " + context);
    sf::kernels::log_softmax_backward(y.data(), grad.data(), grad_x.data(), kRows, length);
    sf::kernels::log_softmax_backward_reference(y.data(), grad.data(), expected_grad.data(), kRows, length);
    sf::test::check_close_values(grad_x.data(), expected_grad.data(), count, tolerance,
                                 "log_softmax_backward " + context);
  }
}

// cross_entropy_backward against its reference: label smoothing off and on, a row ignored (scale 0,
// target -100, which must not be read), a row with a large logit.
template <class T>
void check_cross_entropy_backward_kernel() {
  const sf::test::Tolerance tolerance = sf::test::tolerance_for(sf::dtype_of<T>());
  for (std::int64_t length : sf::test::kTailSizes) {
    for (double smoothing : {0.0, 0.1}) {
      const std::string context = std::string(sf::dtype_name(sf::dtype_of<T>())) + " length " + std::to_string(length) +
                                  " smoothing " + std::to_string(smoothing);
      const std::int64_t count = kRows * length;
      std::vector<T> x = sf::test::random_values<T>(count, 300, -8.0, 8.0);
      if (length > 2) x[1] = T(900);
      std::vector<T> y(x.size()), grad(x.size()), expected(x.size(), T(7));
      sf::kernels::log_softmax(x.data(), y.data(), kRows, length);
      const std::vector<std::int64_t> targets{length - 1, -100, length / 2};
      const std::vector<double> scales{0.5, 0.0, -1.25};
      sf::kernels::cross_entropy_backward(y.data(), targets.data(), scales.data(), smoothing, grad.data(), kRows, length);
      sf::kernels::cross_entropy_backward_reference(y.data(), targets.data(), scales.data(), smoothing, expected.data(),
                                                    kRows, length);
      sf::test::check_close_values(grad.data(), expected.data(), count, tolerance, "cross_entropy_backward " + context);
      for (std::int64_t j = 0; j < length; ++j) BOOST_TEST(grad[length + j] == T(0));  // the ignored row
    }
  }
}

// Central-difference Jacobian-vector product: Σ_j grad_j ∂f_j/∂x_i for one row.
template <class Forward>
std::vector<double> numeric_vjp(const std::vector<double>& x, const std::vector<double>& grad, Forward&& forward) {
  const double step = 1e-6;
  std::vector<double> result(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    std::vector<double> plus(x), minus(x);
    plus[i] += step;
    minus[i] -= step;
    const std::vector<double> f_plus = forward(plus), f_minus = forward(minus);
    double total = 0;
    for (std::size_t j = 0; j < x.size(); ++j) total += grad[j] * (f_plus[j] - f_minus[j]) / (2 * step);
    result[i] = total;
  }
  return result;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels_nn)

BOOST_AUTO_TEST_CASE(softmax_kernels_match_reference_float) { check_softmax_kernels<float>(); }
BOOST_AUTO_TEST_CASE(softmax_kernels_match_reference_double) { check_softmax_kernels<double>(); }
BOOST_AUTO_TEST_CASE(cross_entropy_backward_matches_reference_float) { check_cross_entropy_backward_kernel<float>(); }
BOOST_AUTO_TEST_CASE(cross_entropy_backward_matches_reference_double) { check_cross_entropy_backward_kernel<double>(); }
BOOST_AUTO_TEST_CASE(cross_entropy_backward_checks_its_inputs) {
  const Tensor log_p = sf::compute::log_softmax(Tensor::zeros({2, 3}));
  check_error_message([&] { sf::compute::cross_entropy_backward(log_p, {0, 3}, {1.0, 1.0}, 0.0); },
                      "target 3 at row 1 out of range for log-probabilities [2, 3]");
  check_error_message([&] { sf::compute::cross_entropy_backward(log_p, {0}, {1.0}, 0.0); }, "1 targets and 1 scales");
  // An ignored row's target is never read.
  const Tensor grad = sf::compute::cross_entropy_backward(log_p, {0, -100}, {1.0, 0.0}, 0.0);
  BOOST_TEST(grad.to_vector()[3] == 0.0);
}

BOOST_AUTO_TEST_CASE(masked_rows_give_zero_probability_not_nan) {
  const double infinity = std::numeric_limits<double>::infinity();
  for (sf::DType dtype : sf::test::kDTypes)
    for (std::int64_t length : {1, 7, 16, 33}) {
      Tensor x = sf::test::random_tensor({3, length}, dtype, 210);
      for (std::int64_t j = 0; j < length; ++j) x.set({1, j}, -infinity);  // fully masked row
      x.set({2, 0}, -infinity);                                            // partly masked row
      const Tensor p = sf::compute::softmax(x), log_p = sf::compute::log_softmax(x);
      for (std::int64_t j = 0; j < length; ++j) {
        BOOST_TEST(p.at({1, j}) == 0.0);
        BOOST_TEST(log_p.at({1, j}) == -infinity);
      }
      BOOST_TEST(p.at({2, 0}) == 0.0);
      double row_sum = 0;
      for (std::int64_t j = 0; j < length; ++j) row_sum += p.at({0, j});
      BOOST_TEST(row_sum == 1.0, boost::test_tools::tolerance(1e-6));
      const Tensor grad = sf::test::random_tensor({3, length}, dtype, 211);
      for (double value : sf::compute::softmax_backward(p, grad).to_vector()) BOOST_TEST(std::isfinite(value));
      for (double value : sf::compute::log_softmax_backward(log_p, grad).to_vector()) BOOST_TEST(std::isfinite(value));
    }
}

BOOST_AUTO_TEST_CASE(softmax_backward_matches_central_differences) {
  const Tensor x = sf::test::random_tensor({1, 9}, sf::DType::Float64, 220);
  const Tensor grad = sf::test::random_tensor({1, 9}, sf::DType::Float64, 221);
  const std::vector<double> values = x.to_vector(), upstream = grad.to_vector();
  for (bool logarithmic : {false, true}) {
    auto forward = [logarithmic](const std::vector<double>& input) {
      const Tensor in = Tensor::from_vector(input, {1, 9});
      return (logarithmic ? sf::compute::log_softmax(in) : sf::compute::softmax(in)).to_vector();
    };
    const Tensor y = logarithmic ? sf::compute::log_softmax(x) : sf::compute::softmax(x);
    const Tensor analytic = logarithmic ? sf::compute::log_softmax_backward(y, grad) : sf::compute::softmax_backward(y, grad);
    sf::test::check_close(analytic, Tensor::from_vector(numeric_vjp(values, upstream, forward), {1, 9}), {1e-7, 1e-9},
                          logarithmic ? "log_softmax" : "softmax");
  }
}

BOOST_AUTO_TEST_CASE(softmax_tensor_functions) {
  const Tensor x = sf::test::random_tensor({5, 4, 3}, sf::DType::Float32, 230).permute({2, 0, 1});  // [3, 5, 4]
  sf::test::check_close(sf::compute::softmax(x), sf::compute::softmax(x.contiguous()), "strided softmax");
  BOOST_TEST(sf::test::bitwise_equal(sf::compute::softmax(x), sf::compute::softmax(x.contiguous())));
  check_error_message([] { (void)sf::compute::softmax(Tensor::scalar(1.0)); },
                      "softmax: needs at least one axis, got a 0-d tensor []");
  check_error_message([] { (void)sf::compute::softmax_backward(Tensor::zeros({2, 3}), Tensor::zeros({2, 4})); },
                      "softmax_backward: shape mismatch: [2, 3] vs [2, 4]");
  check_error_message(
      [] { (void)sf::compute::log_softmax_backward(Tensor::zeros({2}), Tensor::zeros({2}, sf::DType::Float64)); },
      "log_softmax_backward: dtype mismatch: float32 [2] vs float64 [2]");
}

template <class T>
void check_layer_norm_kernels() {
  const sf::test::Tolerance tolerance = sf::test::tolerance_for(sf::dtype_of<T>());
  // 400 rows exceed one chunk of the parameter-gradient sums for D >= 33.
  for (std::int64_t rows : {std::int64_t{3}, std::int64_t{400}})
    for (std::int64_t D : {1, 7, 15, 16, 17, 33, 1000})
      for (bool affine : {false, true}) {
        const std::string context = std::string(sf::dtype_name(sf::dtype_of<T>())) + " rows " + std::to_string(rows) +
                                    " D " + std::to_string(D) + (affine ? " affine" : "");
        const std::int64_t count = rows * D;
        std::vector<T> x = sf::test::random_values<T>(count, 300, -3.0, 5.0);
        const std::vector<T> weight = sf::test::random_values<T>(D, 301, 0.5, 1.5);
        const std::vector<T> bias = sf::test::random_values<T>(D, 302);
        const std::vector<T> grad = sf::test::random_values<T>(count, 303);
        const T* w = affine ? weight.data() : nullptr;
        const T* b = affine ? bias.data() : nullptr;
        std::vector<T> y(x.size()), expected_y(x.size()), mean(rows), inverse_std(rows), expected_mean(rows),
            expected_inverse_std(rows);
        sf::kernels::layer_norm(x.data(), w, b, rows, D, T(1e-5), y.data(), mean.data(), inverse_std.data());
        sf::kernels::layer_norm_reference(x.data(), w, b, rows, D, T(1e-5), expected_y.data(), expected_mean.data(),
                                          expected_inverse_std.data());
        // y = x̂ w + b cancels where x̂ w ≈ -b: compare on the O(1) scale of its terms.
        const sf::test::Tolerance output_tolerance{tolerance.relative, tolerance.relative};
        sf::test::check_close_values(y.data(), expected_y.data(), count, output_tolerance, "output " + context);
        sf::test::check_close_values(mean.data(), expected_mean.data(), rows, tolerance, "mean " + context);
        sf::test::check_close_values(inverse_std.data(), expected_inverse_std.data(), rows, tolerance,
                                     "inverse_std " + context);

        std::vector<T> grad_x(x.size()), grad_w(D), grad_b(D), expected_grad_x(x.size()), expected_grad_w(D),
            expected_grad_b(D);
        std::vector<T> workspace(static_cast<std::size_t>(sf::kernels::layer_norm_backward_workspace_size(rows, D)));
        sf::kernels::layer_norm_backward(grad.data(), x.data(), mean.data(), inverse_std.data(), w, rows, D,
                                         grad_x.data(), grad_w.data(), grad_b.data(), workspace.data());
        sf::kernels::layer_norm_backward_reference(grad.data(), x.data(), mean.data(), inverse_std.data(), w, rows, D,
                                                   expected_grad_x.data(), expected_grad_w.data(),
                                                   expected_grad_b.data());
        // grad_x cancels (its terms sum to zero over the row): give it a D-scaled absolute slack.
        const sf::test::Tolerance loose{tolerance.relative * 10, tolerance.relative * static_cast<double>(D)};
        sf::test::check_close_values(grad_x.data(), expected_grad_x.data(), count, loose, "grad_x " + context);
        const sf::test::Tolerance summed{tolerance.relative * 10, tolerance.relative * static_cast<double>(rows)};
        sf::test::check_close_values(grad_w.data(), expected_grad_w.data(), D, summed, "grad_w " + context);
        sf::test::check_close_values(grad_b.data(), expected_grad_b.data(), D, summed, "grad_b " + context);
      }
}

BOOST_AUTO_TEST_CASE(layer_norm_kernels_match_reference_float) { check_layer_norm_kernels<float>(); }
BOOST_AUTO_TEST_CASE(layer_norm_kernels_match_reference_double) { check_layer_norm_kernels<double>(); }

BOOST_AUTO_TEST_CASE(layer_norm_statistics_and_normalization) {
  // A large common offset: the two-pass variance keeps full accuracy.
  const Tensor x = sf::compute::add_scalar(sf::test::random_tensor({4, 64}, sf::DType::Float32, 310), 1000.0);
  const auto result = sf::compute::layer_norm(x, Tensor(), Tensor(), 1e-5);
  BOOST_TEST((result.mean.shape() == Shape{4}));
  BOOST_TEST((result.inverse_std.shape() == Shape{4}));
  const Tensor row_mean = sf::compute::mean(result.output, {1});
  const Tensor row_variance = sf::compute::mean(sf::compute::unary(sf::compute::Unary::Square, result.output), {1});
  for (double value : row_mean.to_vector()) BOOST_TEST(std::fabs(value) < 1e-4);
  for (double value : row_variance.to_vector()) BOOST_TEST(value == 1.0, boost::test_tools::tolerance(1e-3));
}

// Gradients of L = Σ grad_output ⊙ layer_norm(x, w, b) against central differences in float64.
BOOST_AUTO_TEST_CASE(layer_norm_backward_matches_central_differences) {
  const std::int64_t rows = 3, D = 5;
  const Tensor x = sf::test::random_tensor({rows, D}, sf::DType::Float64, 320, -2.0, 2.0);
  const Tensor weight = sf::test::random_tensor({D}, sf::DType::Float64, 321, 0.5, 1.5);
  const Tensor bias = sf::test::random_tensor({D}, sf::DType::Float64, 322);
  const Tensor grad = sf::test::random_tensor({rows, D}, sf::DType::Float64, 323);
  const double eps = 1e-5, step = 1e-6;
  auto loss = [&](const Tensor& input, const Tensor& w, const Tensor& b) {
    return sf::compute::sum(sf::compute::multiply(sf::compute::layer_norm(input, w, b, eps).output, grad)).item();
  };
  auto numeric = [&](const Tensor& target, auto&& evaluate) {
    Tensor derivative = Tensor::zeros(target.shape(), sf::DType::Float64);
    for (std::int64_t index = 0; index < target.numel(); ++index) {
      Tensor plus = target.clone().flatten(), minus = target.clone().flatten();
      plus.set({index}, plus.at({index}) + step);
      minus.set({index}, minus.at({index}) - step);
      derivative.flatten().set({index}, (evaluate(plus.reshape(target.shape())) - evaluate(minus.reshape(target.shape()))) / (2 * step));
    }
    return derivative;
  };
  for (bool affine : {true, false}) {
    const Tensor w = affine ? weight : Tensor(), b = affine ? bias : Tensor();
    const auto forward = sf::compute::layer_norm(x, w, b, eps);
    const auto grads = sf::compute::layer_norm_backward(grad, x, forward.mean, forward.inverse_std, w);
    const sf::test::Tolerance tolerance{1e-6, 1e-8};
    sf::test::check_close(grads.grad_input, numeric(x, [&](const Tensor& input) { return loss(input, w, b); }), tolerance,
                          affine ? "grad_input" : "grad_input without weight");
    const Tensor unit_weight = Tensor::ones({D}, sf::DType::Float64), zero_bias = Tensor::zeros({D}, sf::DType::Float64);
    sf::test::check_close(grads.grad_weight,
                          numeric(affine ? weight : unit_weight, [&](const Tensor& value) { return loss(x, value, affine ? bias : zero_bias); }),
                          tolerance, "grad_weight");
    sf::test::check_close(grads.grad_bias,
                          numeric(affine ? bias : zero_bias, [&](const Tensor& value) { return loss(x, affine ? weight : unit_weight, value); }),
                          tolerance, "grad_bias");
  }
}

BOOST_AUTO_TEST_CASE(layer_norm_errors) {
  const Tensor x = Tensor::zeros({2, 3, 4});
  check_error_message([&] { (void)sf::compute::layer_norm(x, Tensor::ones({5}), Tensor(), 1e-5); },
                      "layer_norm: weight [5] does not match the last axis of input [2, 3, 4] (expected [4])");
  check_error_message([&] { (void)sf::compute::layer_norm(x, Tensor(), Tensor::ones({4, 1}), 1e-5); },
                      "layer_norm: bias [4, 1] does not match the last axis of input [2, 3, 4] (expected [4])");
  check_error_message([&] { (void)sf::compute::layer_norm(Tensor::scalar(1.0), Tensor(), Tensor(), 1e-5); },
                      "layer_norm: needs at least one axis, got a 0-d tensor []");
  check_error_message(
      [&] {
        (void)sf::compute::layer_norm_backward(Tensor::zeros({2, 3, 4}), x, Tensor::zeros({5}), Tensor::zeros({6}),
                                               Tensor());
      },
      "layer_norm_backward: mean [5] and inverse_std [6] must hold one value per row of input [2, 3, 4] (6 rows)");
  check_error_message(
      [&] { (void)sf::compute::layer_norm_backward(Tensor::zeros({2, 4}), x, Tensor::zeros({6}), Tensor::zeros({6}), Tensor()); },
      "layer_norm_backward: shape mismatch: [2, 4] vs [2, 3, 4]");
}

BOOST_AUTO_TEST_SUITE_END()
