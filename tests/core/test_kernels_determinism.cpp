// Every kernel, through its tensor function, gives bit-identical results with 1 and 2 threads on
// inputs large enough that the parallel layer splits the work (more than parallel::grain::
// elementwise elements, more than grain::reduction per reduced row, many rows for row kernels).
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "sf/core/compute.hpp"
#include "test_kernels_util.hpp"

using sf::Tensor;
using sf::compute::Binary;
using sf::compute::Unary;
using sf::test::check_thread_invariant;

namespace {

constexpr std::int64_t kLarge = 300007;  // > 9 elementwise grains, > 18 reduction chunks

std::vector<std::int64_t> repeated_ids(std::int64_t count, std::int64_t vocabulary) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(count));
  for (std::int64_t position = 0; position < count; ++position) ids[static_cast<std::size_t>(position)] = (position * 7919) % vocabulary;
  return ids;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels_determinism)

BOOST_AUTO_TEST_CASE(elementwise_is_thread_count_invariant) {
  for (sf::DType dtype : sf::test::kDTypes) {
    const std::string type = std::string(sf::dtype_name(dtype));
    const Tensor x = sf::test::random_tensor({kLarge}, dtype, 500, 0.1, 3.0);
    const Tensor grad = sf::test::random_tensor({kLarge}, dtype, 501);
    for (Unary op : {Unary::Negate, Unary::Exp, Unary::Log, Unary::Sqrt, Unary::Tanh, Unary::Sigmoid, Unary::Relu,
                     Unary::GeluErf, Unary::GeluTanh, Unary::Abs, Unary::Square, Unary::Reciprocal})
      check_thread_invariant(
          [&] {
            const Tensor y = sf::compute::unary(op, x);
            return std::vector<Tensor>{y, sf::compute::unary_backward(op, x, y, grad)};
          },
          std::string(sf::kernels::unary_name(op)) + " " + type);
    const Tensor matrix = sf::test::random_tensor({1000, 301}, dtype, 502);
    const Tensor row = sf::test::random_tensor({301}, dtype, 503);
    for (Binary op : {Binary::Add, Binary::Subtract, Binary::Multiply, Binary::Divide, Binary::Maximum, Binary::Minimum,
                      Binary::Equal, Binary::NotEqual, Binary::Less, Binary::LessEqual, Binary::Greater,
                      Binary::GreaterEqual})
      check_thread_invariant(
          [&] {
            return std::vector<Tensor>{sf::compute::binary(op, x, grad), sf::compute::binary(op, matrix, row),
                                       sf::compute::binary(op, x, Tensor::scalar(1.5, dtype))};
          },
          std::string(sf::kernels::binary_name(op)) + " " + type);
    check_thread_invariant(
        [&] {
          Tensor accumulated = matrix.clone();
          sf::compute::add_(accumulated, row, 0.3);
          Tensor scaled = x.clone();
          sf::compute::scale_(scaled, 0.7);
          sf::Generator generator(77);
          return std::vector<Tensor>{sf::compute::where(sf::compute::binary(Binary::Less, matrix, row), matrix, row),
                                     sf::compute::masked_fill(matrix, row, -1.0),
                                     sf::compute::power_scalar(x, 1.7),
                                     sf::compute::clamp(grad, -0.5, 0.5),
                                     accumulated,
                                     scaled,
                                     sf::compute::dropout_mask({kLarge}, generator, 0.1, dtype)};
        },
        "where / masked_fill / power / clamp / add_ / scale_ / dropout " + type);
  }
}

BOOST_AUTO_TEST_CASE(reductions_are_thread_count_invariant) {
  for (sf::DType dtype : sf::test::kDTypes) {
    const Tensor flat = sf::test::random_tensor({1000003}, dtype, 510);
    const Tensor matrix = sf::test::random_tensor({4096, 300}, dtype, 511);
    const Tensor cube = sf::test::random_tensor({40, 50, 60}, dtype, 512);
    check_thread_invariant(
        [&] {
          return std::vector<Tensor>{sf::compute::sum(flat),
                                     sf::compute::mean(flat),
                                     sf::compute::sum(matrix, {0}),
                                     sf::compute::sum(matrix, {1}),
                                     sf::compute::sum(cube, {1}),
                                     sf::compute::sum(cube, {0, 2}),
                                     sf::compute::mean(cube, {0, 1}, true),
                                     sf::compute::sum_to(matrix, {1, 300}),
                                     sf::compute::max(matrix, 0),
                                     sf::compute::max(matrix, 1),
                                     sf::compute::max(flat, 0)};
        },
        "sums and maxima " + std::string(sf::dtype_name(dtype)));
    std::vector<std::int64_t> single, dual;
    {
      sf::parallel::ThreadCountGuard guard(1);
      single = sf::compute::argmax(matrix, 0);
      const auto rows = sf::compute::argmax(matrix, 1);
      single.insert(single.end(), rows.begin(), rows.end());
    }
    {
      sf::parallel::ThreadCountGuard guard(2);
      dual = sf::compute::argmax(matrix, 0);
      const auto rows = sf::compute::argmax(matrix, 1);
      dual.insert(dual.end(), rows.begin(), rows.end());
    }
    BOOST_TEST(single == dual);
  }
}

BOOST_AUTO_TEST_CASE(row_kernels_are_thread_count_invariant) {
  for (sf::DType dtype : sf::test::kDTypes) {
    const Tensor x = sf::test::random_tensor({2000, 257}, dtype, 520);
    const Tensor grad = sf::test::random_tensor({2000, 257}, dtype, 521);
    const Tensor weight = sf::test::random_tensor({257}, dtype, 522);
    const Tensor bias = sf::test::random_tensor({257}, dtype, 523);
    check_thread_invariant(
        [&] {
          const Tensor p = sf::compute::softmax(x), log_p = sf::compute::log_softmax(x);
          const auto normalized = sf::compute::layer_norm(x, weight, bias, 1e-5);
          const auto grads = sf::compute::layer_norm_backward(grad, x, normalized.mean, normalized.inverse_std, weight);
          return std::vector<Tensor>{p,
                                     log_p,
                                     sf::compute::softmax_backward(p, grad),
                                     sf::compute::log_softmax_backward(log_p, grad),
                                     normalized.output,
                                     normalized.mean,
                                     normalized.inverse_std,
                                     grads.grad_input,
                                     grads.grad_weight,
                                     grads.grad_bias};
        },
        "softmax and layer norm " + std::string(sf::dtype_name(dtype)));
  }
}

BOOST_AUTO_TEST_CASE(indexing_and_optimizer_are_thread_count_invariant) {
  for (sf::DType dtype : sf::test::kDTypes) {
    const std::int64_t V = 500, D = 128, positions = 8192;
    const Tensor weight = sf::test::random_tensor({V, D}, dtype, 530);
    const std::vector<std::int64_t> ids = repeated_ids(positions, V);
    const Tensor grad = sf::test::random_tensor({positions, D}, dtype, 531);
    const Tensor source = sf::test::random_tensor({64, 300, 33}, dtype, 532);
    check_thread_invariant(
        [&] {
          return std::vector<Tensor>{sf::compute::embedding(weight, ids, {positions}),
                                     sf::compute::embedding_backward(grad, ids, V, 5),
                                     sf::compute::index_select(source, 1, repeated_ids(900, 300)),
                                     sf::compute::index_add({64, 40, 33}, 1, repeated_ids(300, 40), source),
                                     sf::compute::concat({source, source.transpose(0, 1).contiguous().transpose(0, 1)}, 2)};
        },
        "embedding / index_select / index_add / concat " + std::string(sf::dtype_name(dtype)));
    check_thread_invariant(
        [&] {
          Tensor parameter = sf::test::random_tensor({kLarge}, dtype, 540);
          Tensor first = Tensor::zeros({kLarge}, dtype), second = Tensor::zeros({kLarge}, dtype);
          const Tensor gradient = sf::test::random_tensor({kLarge}, dtype, 541);
          for (std::int64_t step = 1; step <= 3; ++step)
            sf::compute::adamw_update_(parameter, gradient, first, second, {1e-3, 0.9, 0.999, 1e-8, 0.01, step});
          return std::vector<Tensor>{parameter, first, second};
        },
        "adamw " + std::string(sf::dtype_name(dtype)));
  }
}

BOOST_AUTO_TEST_SUITE_END()
