// Every op on inputs with a zero-size dimension: forward and backward either give results of the
// right (empty) shape or refuse with an sf::Error - never a signal, never another exception.
// A crash (SIGFPE from a division by a zero extent, an out-of-bounds read) fails the whole suite.
#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>
#include <vector>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/functional_fused.hpp"
#include "sf/autograd/functional_local_attention.hpp"
#include "sf/core/random.hpp"

using sf::Shape;
using sf::Tensor;
using sf::Variable;

namespace {

Variable leaf(const Shape& shape) { return Variable(Tensor::zeros(shape), /*requires_grad=*/true); }

// Runs op forward and backward (the sum of its output); an sf::Error is an accepted answer.
// Returns "ok", "error" or what went wrong, for the message of a failing check.
std::string run(const std::function<Variable()>& op) {
  try {
    const Variable output = op();
    if (output.numel() != 0 && output.dim() > 0) {
      // A zero-size input gave a non-empty output: allowed only for reductions over the empty
      // axis (sums of nothing are 0), which the caller knows about.
      sf::sum(output).backward();
      return "nonempty";
    }
    sf::sum(output).backward();
    return "ok";
  } catch (const sf::Error&) {
    return "error";
  } catch (const std::exception& error) {
    return std::string("unexpected exception: ") + error.what();
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(zero_size)

BOOST_AUTO_TEST_CASE(elementwise_and_shape_ops_on_every_zero_size_shape) {
  const std::vector<Shape> shapes{{0}, {2, 0}, {0, 3}, {2, 0, 3}, {0, 4, 3}, {2, 4, 0}};
  for (const Shape& shape : shapes) {
    const auto x = [&] { return leaf(shape); };
    const std::vector<std::pair<std::string, std::function<Variable()>>> ops{
        {"add", [&] { return sf::add(x(), x()); }},
        {"subtract", [&] { return sf::subtract(x(), x()); }},
        {"multiply", [&] { return sf::multiply(x(), x()); }},
        {"divide", [&] { return sf::divide(x(), sf::add_scalar(x(), 1.0)); }},
        {"negate", [&] { return sf::negate(x()); }},
        {"multiply_scalar", [&] { return sf::multiply_scalar(x(), 2.0); }},
        {"exp", [&] { return sf::exp(x()); }},
        {"log", [&] { return sf::log(sf::add_scalar(x(), 1.0)); }},
        {"sqrt", [&] { return sf::sqrt(sf::add_scalar(x(), 1.0)); }},
        {"abs", [&] { return sf::abs(x()); }},
        {"pow", [&] { return sf::pow(x(), 2.0); }},
        {"clamp", [&] { return sf::clamp(x(), -1.0, 1.0); }},
        {"sigmoid", [&] { return sf::sigmoid(x()); }},
        {"tanh", [&] { return sf::tanh(x()); }},
        {"relu", [&] { return sf::relu(x()); }},
        {"gelu", [&] { return sf::gelu(x()); }},
        {"maximum", [&] { return sf::maximum(x(), x()); }},
        {"minimum", [&] { return sf::minimum(x(), x()); }},
        {"where", [&] { return sf::where(Tensor::zeros(shape), x(), x()); }},
        {"masked_fill", [&] { return sf::masked_fill(x(), Tensor::zeros(shape), 1.0); }},
        {"softmax", [&] { return sf::softmax(x()); }},
        {"log_softmax", [&] { return sf::log_softmax(x()); }},
        {"transpose", [&] { return shape.size() >= 2 ? sf::transpose(x(), 0, 1) : x(); }},
        {"unsqueeze", [&] { return sf::unsqueeze(x(), 0); }},
        {"reshape", [&] { return sf::reshape(x(), {0}); }},
        {"slice", [&] { return sf::slice(x(), 0, 0, shape[0]); }},
        {"concat", [&] { return sf::concat({x(), x()}, 0); }},
        {"stack", [&] { return sf::stack({x(), x()}, 0); }},
        {"neighbor_mean", [&] { return sf::neighbor_mean(x()); }},
        {"gated_interpolation", [&] { return sf::gated_interpolation(x(), x(), x()); }},
        {"gated_residual", [&] { return sf::gated_residual(x(), x(), x()); }},
        {"dropout", [&] {
           sf::Generator generator(1);
           return sf::dropout(x(), 0.5, true, generator);
         }},
        {"gumbel_softmax", [&] {
           sf::Generator generator(1);
           return sf::gumbel_softmax(x(), 1.0, false, generator);
         }},
    };
    for (const auto& [name, op] : ops) {
      const std::string outcome = run(op);
      BOOST_TEST_INFO(name << " on " << sf::shape_string(shape) << ": " << outcome);
      BOOST_TEST((outcome == "ok" || outcome == "error"));
    }
    // Reductions: the sum over an empty axis is a (non-empty) tensor of zeros; mean and max
    // over one may refuse.
    for (const auto& [name, op] : std::vector<std::pair<std::string, std::function<Variable()>>>{
             {"sum", [&] { return sf::sum(x(), {0}); }},
             {"mean", [&] { return sf::mean(x(), {0}); }},
             {"max", [&] { return sf::max(x(), 0); }}}) {
      const std::string outcome = run(op);
      BOOST_TEST_INFO(name << " on " << sf::shape_string(shape) << ": " << outcome);
      BOOST_TEST((outcome == "ok" || outcome == "error" || outcome == "nonempty"));
    }
  }
}

BOOST_AUTO_TEST_CASE(layers_on_zero_rows_batches_and_widths) {
  const std::vector<std::pair<std::string, std::function<Variable()>>> ops{
      {"matmul [0,3]x[3,4]", [] { return sf::matmul(leaf({0, 3}), leaf({3, 4})); }},
      {"matmul [2,0]x[0,4]", [] { return sf::matmul(leaf({2, 0}), leaf({0, 4})); }},
      {"linear 0 rows", [] { return sf::linear(leaf({0, 3}), leaf({4, 3}), leaf({4})); }},
      {"linear 0 outputs", [] { return sf::linear(leaf({2, 3}), leaf({0, 3}), leaf({0})); }},
      {"layer_norm 0 rows", [] { return sf::layer_norm(leaf({0, 4}), leaf({4}), leaf({4})); }},
      {"layer_norm width 0", [] { return sf::layer_norm(leaf({2, 0}), leaf({0}), leaf({0})); }},
      {"cross_entropy 0 rows", [] { return sf::cross_entropy(leaf({0, 3}), {}); }},
      {"embedding no ids", [] { return sf::embedding(leaf({5, 4}), {}, {0, 3}); }},
      {"index_select none", [] { return sf::index_select(leaf({3, 4}), 0, {}); }},
      {"gather none", [] { return sf::gather(leaf({3, 4}), 1, {}, {3, 0}); }},
      {"attention 0 queries", [] { return sf::scaled_dot_product_attention(leaf({2, 0, 4}), leaf({2, 3, 4}), leaf({2, 3, 4})); }},
      {"attention 0 keys", [] { return sf::scaled_dot_product_attention(leaf({2, 3, 4}), leaf({2, 0, 4}), leaf({2, 0, 4})); }},
      {"attention 0 batch", [] { return sf::scaled_dot_product_attention(leaf({0, 3, 4}), leaf({0, 3, 4}), leaf({0, 3, 4})); }},
      {"local_attention 0 length", [] { return sf::local_attention(leaf({1, 2, 0, 4}), leaf({1, 2, 0, 4}), leaf({1, 2, 0, 4}), 2); }},
      {"local_attention 0 batch", [] { return sf::local_attention(leaf({0, 2, 5, 4}), leaf({0, 2, 5, 4}), leaf({0, 2, 5, 4}), 2); }},
      {"linear_concat 0 rows", [] { return sf::linear_concat(leaf({0, 3}), leaf({0, 2}), leaf({4, 5}), leaf({4})); }},
  };
  for (const auto& [name, op] : ops) {
    const std::string outcome = run(op);
    BOOST_TEST_INFO(name << ": " << outcome);
    // An empty attention over zero keys may also give a non-empty result of zeros.
    BOOST_TEST((outcome == "ok" || outcome == "error" || outcome == "nonempty"));
  }
}

BOOST_AUTO_TEST_SUITE_END()
