// Gather / scatter-add kernels, embedding and its gradient (repeated ids, padding), index_select
// and index_add, concat, and the fused AdamW update against a scalar hand computation.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "sf/core/compute.hpp"
#include "sf/core/kernels/adamw.hpp"
#include "sf/core/kernels/indexing.hpp"
#include "test_kernels_util.hpp"
#include "test_util.hpp"

using sf::Shape;
using sf::Tensor;
using sf::test::check_error_message;

namespace {

std::vector<std::int64_t> random_ids(std::int64_t count, std::int64_t bound, std::uint64_t seed) {
  sf::Generator generator(seed);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(count));
  for (auto& id : ids) id = static_cast<std::int64_t>(generator.next_below(static_cast<std::uint64_t>(bound)));
  return ids;
}

template <class T>
void check_gather_scatter() {
  for (std::int64_t inner : {1, 7, 16, 17, 33, 130})
    for (std::int64_t outer : {1, 3}) {
      const std::int64_t extent = 11, count = 50;
      const std::string context = std::to_string(outer) + "x" + std::to_string(extent) + "x" + std::to_string(inner);
      // Few distinct ids: heavy repetition exercises the accumulation order.
      const std::vector<std::int64_t> ids = random_ids(count, extent, 400 + static_cast<std::uint64_t>(inner));
      const std::vector<T> source = sf::test::random_values<T>(outer * extent * inner, 401);
      std::vector<T> gathered(static_cast<std::size_t>(outer * count * inner)), expected(gathered.size());
      sf::kernels::gather(source.data(), outer, extent, inner, ids.data(), count, gathered.data());
      sf::kernels::gather_reference(source.data(), outer, extent, inner, ids.data(), count, expected.data());
      BOOST_TEST_INFO("gather " << context);
      BOOST_TEST(gathered == expected);

      for (std::int64_t skip : {std::int64_t{-1}, ids[3]}) {
        std::vector<T> scattered(static_cast<std::size_t>(outer * extent * inner), T(0)), scattered_expected(scattered.size(), T(0));
        sf::kernels::scatter_add(gathered.data(), outer, count, inner, ids.data(), extent, skip, scattered.data());
        sf::kernels::scatter_add_reference(gathered.data(), outer, count, inner, ids.data(), extent, skip,
                                           scattered_expected.data());
        // Same order of additions as the reference (ascending positions): exactly equal.
        BOOST_TEST_INFO("scatter_add " << context << " skip " << skip);
        BOOST_TEST(scattered == scattered_expected);
      }
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels_indexing)

BOOST_AUTO_TEST_CASE(gather_and_scatter_add_match_reference) {
  check_gather_scatter<float>();
  check_gather_scatter<double>();
}

BOOST_AUTO_TEST_CASE(embedding_forward_and_backward) {
  for (sf::DType dtype : sf::test::kDTypes) {
    const std::int64_t V = 10, D = 17;
    const Tensor weight = sf::test::random_tensor({V, D}, dtype, 410);
    const std::vector<std::int64_t> ids = {3, 0, 3, 9, 3, 1, 0, 2};  // repeated 3 and 0
    const Tensor output = sf::compute::embedding(weight, ids, {2, 4});
    BOOST_TEST((output.shape() == Shape{2, 4, D}));
    for (std::size_t position = 0; position < ids.size(); ++position)
      for (std::int64_t column = 0; column < D; ++column)
        BOOST_TEST(output.at({static_cast<std::int64_t>(position) / 4, static_cast<std::int64_t>(position) % 4, column}) ==
                   weight.at({ids[position], column}));

    const Tensor grad = sf::test::random_tensor({2, 4, D}, dtype, 411);
    for (std::int64_t padding : {std::int64_t{-1}, std::int64_t{3}}) {
      const Tensor grad_weight = sf::compute::embedding_backward(grad, ids, V, padding);
      BOOST_TEST((grad_weight.shape() == Shape{V, D}));
      for (std::int64_t v = 0; v < V; ++v)
        for (std::int64_t column = 0; column < D; ++column) {
          double expected = 0;
          for (std::size_t position = 0; position < ids.size(); ++position)
            if (ids[position] == v && v != padding)
              expected += grad.at({static_cast<std::int64_t>(position) / 4, static_cast<std::int64_t>(position) % 4, column});
          BOOST_TEST(grad_weight.at({v, column}) == expected, boost::test_tools::tolerance(1e-6));
        }
    }
  }
  const Tensor weight = Tensor::zeros({30522, 8});
  check_error_message([&] { (void)sf::compute::embedding(weight, {1, 2, 30522}, {3}); },
                      "embedding: id 30522 at position 2 is out of range for a vocabulary of 30522 rows (weight [30522, 8])");
  check_error_message([&] { (void)sf::compute::embedding(weight, {-1}, {1}); }, "embedding: id -1 at position 0");
  check_error_message([&] { (void)sf::compute::embedding(weight, {1, 2}, {3}); }, "embedding: 2 ids do not fill ids shape [3]");
  check_error_message([&] { (void)sf::compute::embedding(Tensor::zeros({4}), {1}, {1}); },
                      "embedding: weight must be 2-d [V, D], got [4]");
  check_error_message([&] { (void)sf::compute::embedding_backward(Tensor::zeros({3, 8}), {1, 2}, 10, -1); },
                      "embedding_backward: gradient [3, 8] does not hold one row of D = 8 per id (2 ids)");
  check_error_message([&] { (void)sf::compute::embedding_backward(Tensor::zeros({2, 8}), {1, 12}, 10, -1); },
                      "embedding_backward: id 12 at position 1 is out of range for a vocabulary of 10 rows");
  check_error_message([&] { (void)sf::compute::embedding_backward(Tensor::zeros({2, 8}), {1, 2}, 10, 10); },
                      "embedding_backward: padding index 10 is out of range for a vocabulary of 10 rows");
}

BOOST_AUTO_TEST_CASE(index_select_and_index_add_every_axis) {
  for (sf::DType dtype : sf::test::kDTypes) {
    const Tensor x = sf::test::random_tensor({4, 5, 6}, dtype, 420).permute({0, 2, 1});  // [4, 6, 5], strided
    for (std::int64_t axis = 0; axis < 3; ++axis) {
      const std::int64_t extent = x.shape()[static_cast<std::size_t>(axis)];
      const std::vector<std::int64_t> indices = {extent - 1, 0, extent - 1, 1};
      const Tensor selected = sf::compute::index_select(x, axis, indices);
      Shape expected_shape = x.shape();
      expected_shape[static_cast<std::size_t>(axis)] = 4;
      BOOST_REQUIRE((selected.shape() == expected_shape));
      for (std::size_t j = 0; j < indices.size(); ++j) {
        const Tensor expected = x.select(axis, indices[j]);
        BOOST_TEST(sf::test::bitwise_equal(selected.select(axis, static_cast<std::int64_t>(j)), expected));
      }
      // index_add is the adjoint: <index_select(x), g> = <x, index_add(g)>.
      const Tensor g = sf::test::random_tensor(expected_shape, dtype, 421);
      const Tensor added = sf::compute::index_add(x.shape(), axis, indices, g);
      const double left = sf::compute::sum(sf::compute::multiply(selected, g)).item();
      const double right = sf::compute::sum(sf::compute::multiply(x, added)).item();
      BOOST_TEST(left == right, boost::test_tools::tolerance(1e-5));
      // Repeated index extent-1 received the sum of both slices in ascending order.
      const Tensor expected_row = sf::compute::add(g.select(axis, 0), g.select(axis, 2));
      BOOST_TEST(sf::test::bitwise_equal(added.select(axis, extent - 1), expected_row));
    }
  }
  const Tensor x = Tensor::zeros({3, 4});
  check_error_message([&] { (void)sf::compute::index_select(x, 1, {0, 4}); },
                      "index_select: index 4 at position 1 is out of range for axis 1 of size 4 in shape [3, 4]");
  check_error_message([&] { (void)sf::compute::index_add({3, 4}, 0, {0, 1}, Tensor::zeros({3, 4})); },
                      "index_add: source [3, 4] does not match [2, 4] (shape [3, 4] with axis 0 of size 2)");
  check_error_message([&] { (void)sf::compute::index_add({3, 4}, 0, {0, 3}, Tensor::zeros({2, 4})); },
                      "index_add: index 3 at position 1 is out of range for axis 0 of size 3 in shape [3, 4]");
}

BOOST_AUTO_TEST_CASE(concat_along_every_axis) {
  const Tensor a = sf::test::random_tensor({2, 3, 4}, sf::DType::Float32, 430);
  const Tensor b = sf::test::random_tensor({4, 3, 2}, sf::DType::Float32, 431).transpose(0, 2);  // [2, 3, 4], strided
  for (std::int64_t axis = -3; axis < 3; ++axis) {
    const Tensor joined = sf::compute::concat({a, b, a}, axis);
    const std::int64_t normalized = axis < 0 ? axis + 3 : axis;
    const std::int64_t extent = a.shape()[static_cast<std::size_t>(normalized)];
    BOOST_TEST(joined.shape()[static_cast<std::size_t>(normalized)] == 3 * extent);
    BOOST_TEST(sf::test::bitwise_equal(joined.slice(normalized, 0, extent), a));
    BOOST_TEST(sf::test::bitwise_equal(joined.slice(normalized, extent, 2 * extent), b));
    BOOST_TEST(sf::test::bitwise_equal(joined.slice(normalized, 2 * extent, 3 * extent), a));
  }
  BOOST_TEST((sf::compute::concat({a, Tensor::zeros({2, 0, 4})}, 1).shape() == Shape{2, 3, 4}));
  check_error_message([&] { (void)sf::compute::concat({a, Tensor::zeros({2, 5, 5})}, 1); },
                      "concat: tensor 1 has shape [2, 5, 5] but tensor 0 has [2, 3, 4]; they may differ only on axis 1");
  check_error_message([&] { (void)sf::compute::concat({a, a.to(sf::DType::Float64)}, 0); },
                      "concat: dtype mismatch: float32 [2, 3, 4] vs float64 [2, 3, 4]");
  check_error_message([] { (void)sf::compute::concat({}, 0); }, "concat: no tensors to join");
}

// Three AdamW steps on two parameters, computed by hand in double from the textbook formulas.
BOOST_AUTO_TEST_CASE(adamw_matches_hand_computation) {
  const sf::kernels::AdamWStep base{0.01, 0.9, 0.999, 1e-8, 0.1, 1};
  const std::vector<std::vector<double>> gradients = {{0.5, -2.0}, {-0.25, 1.0}, {1.5, 0.0}};
  std::vector<double> expected_parameter = {1.0, -3.0}, m = {0, 0}, v = {0, 0};
  for (int t = 1; t <= 3; ++t)
    for (std::size_t i = 0; i < 2; ++i) {
      const double g = gradients[static_cast<std::size_t>(t - 1)][i];
      expected_parameter[i] *= 1.0 - 0.01 * 0.1;
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      const double m_hat = m[i] / (1.0 - std::pow(0.9, t)), v_hat = v[i] / (1.0 - std::pow(0.999, t));
      expected_parameter[i] -= 0.01 * m_hat / (std::sqrt(v_hat) + 1e-8);
    }
  for (sf::DType dtype : sf::test::kDTypes) {
    Tensor parameter = Tensor::from_vector(std::vector<double>{1.0, -3.0}, {2}, dtype);
    Tensor first = Tensor::zeros({2}, dtype), second = Tensor::zeros({2}, dtype);
    for (int t = 1; t <= 3; ++t) {
      sf::kernels::AdamWStep step = base;
      step.step = t;
      const auto version = parameter.storage()->version();
      sf::compute::adamw_update_(parameter, Tensor::from_vector(gradients[static_cast<std::size_t>(t - 1)], {2}, dtype),
                                 first, second, step);
      BOOST_TEST(parameter.storage()->version() > version);
    }
    const double tolerance = dtype == sf::DType::Float32 ? 1e-6 : 1e-14;
    for (std::int64_t i = 0; i < 2; ++i) {
      BOOST_TEST(parameter.at({i}) == expected_parameter[static_cast<std::size_t>(i)], boost::test_tools::tolerance(tolerance));
      BOOST_TEST(first.at({i}) == m[static_cast<std::size_t>(i)], boost::test_tools::tolerance(tolerance));
      BOOST_TEST(second.at({i}) == v[static_cast<std::size_t>(i)], boost::test_tools::tolerance(tolerance));
    }
  }
}

template <class T>
void check_adamw_kernel() {
  for (std::int64_t count : sf::test::kTailSizes) {
    std::vector<T> parameter = sf::test::random_values<T>(count, 440), gradient = sf::test::random_values<T>(count, 441);
    std::vector<T> first = sf::test::random_values<T>(count, 442, -0.1, 0.1), second = sf::test::random_values<T>(count, 443, 0.0, 0.1);
    std::vector<T> parameter_reference(parameter), first_reference(first), second_reference(second);
    for (std::int64_t step = 1; step <= 3; ++step) {
      const sf::kernels::AdamWStep settings{1e-3, 0.9, 0.98, 1e-6, 0.01, step};
      sf::kernels::adamw_update(parameter.data(), gradient.data(), first.data(), second.data(), count, settings);
      sf::kernels::adamw_update_reference(parameter_reference.data(), gradient.data(), first_reference.data(),
                                          second_reference.data(), count, settings);
    }
    const auto tolerance = sf::test::tolerance_for(sf::dtype_of<T>());
    const std::string context = std::string(sf::dtype_name(sf::dtype_of<T>())) + " n=" + std::to_string(count);
    sf::test::check_close_values(parameter.data(), parameter_reference.data(), count, tolerance, "parameter " + context);
    sf::test::check_close_values(first.data(), first_reference.data(), count, tolerance, "first moment " + context);
    sf::test::check_close_values(second.data(), second_reference.data(), count, tolerance, "second moment " + context);
  }
}

BOOST_AUTO_TEST_CASE(adamw_kernel_matches_reference) {
  check_adamw_kernel<float>();
  check_adamw_kernel<double>();
  Tensor parameter = Tensor::zeros({4}), moment = Tensor::zeros({4});
  Tensor strided = Tensor::zeros({8}).slice(0, 0, 8, 2);
  check_error_message([&] { sf::compute::adamw_update_(parameter, Tensor::zeros({4}), moment, strided, {}); },
                      "adamw_update_: every tensor must be contiguous; got strides [2] for shape [4]");
  Tensor first = Tensor::zeros({4});
  check_error_message([&] { sf::compute::adamw_update_(parameter, Tensor::zeros({5}), first, moment, {}); },
                      "adamw_update_: shape mismatch: [4] vs [5]");
  sf::kernels::AdamWStep zero_step;
  zero_step.step = 0;
  check_error_message([&] { sf::compute::adamw_update_(parameter, Tensor::zeros({4}), first, moment, zero_step); },
                      "adamw_update_: step must count from 1, got 0");
}

BOOST_AUTO_TEST_SUITE_END()
