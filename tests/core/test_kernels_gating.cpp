// The gating kernels (kernels/gating.hpp) against their references bit for bit (float32 and
// float64, lengths around the vector width), the same bits on 1 and 2 threads, and the tensor
// functions on zero-size shapes (an empty result, never a signal) and on mismatched inputs.
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "sf/core/compute.hpp"
#include "sf/core/kernels/gating.hpp"
#include "test_kernels_util.hpp"
#include "test_util.hpp"

using sf::Tensor;
using sf::test::check_error_message;

namespace {

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  // memcmp may not be given the null data() of an empty vector, even for zero bytes.
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

template <class T>
void check_gating_kernels() {
  for (std::int64_t count : sf::test::kTailSizes) {
    BOOST_TEST_INFO(sf::dtype_name(sf::dtype_of<T>()) << " count " << count);
    const std::vector<T> x = sf::test::random_values<T>(count, 401), u = sf::test::random_values<T>(count, 402),
                         g = sf::test::random_values<T>(count, 403, 0.0, 1.0),
                         grad = sf::test::random_values<T>(count, 404);
    std::vector<T> y(x.size()), expected(x.size());
    sf::kernels::gated_interpolation(x.data(), u.data(), g.data(), y.data(), count);
    sf::kernels::gated_interpolation_reference(x.data(), u.data(), g.data(), expected.data(), count);
    BOOST_TEST(same_bits(y, expected));
    sf::kernels::gated_residual(x.data(), g.data(), u.data(), y.data(), count);
    sf::kernels::gated_residual_reference(x.data(), g.data(), u.data(), expected.data(), count);
    BOOST_TEST(same_bits(y, expected));

    std::vector<T> dx(x.size()), du(x.size()), dg(x.size()), ex(x.size()), eu(x.size()), eg(x.size());
    sf::kernels::gated_interpolation_backward(x.data(), u.data(), g.data(), grad.data(), dx.data(), du.data(), dg.data(),
                                              count);
    sf::kernels::gated_interpolation_backward_reference(x.data(), u.data(), g.data(), grad.data(), ex.data(), eu.data(),
                                                        eg.data(), count);
    BOOST_TEST((same_bits(dx, ex) && same_bits(du, eu) && same_bits(dg, eg)));
    sf::kernels::gated_residual_backward(g.data(), u.data(), grad.data(), dg.data(), du.data(), count);
    sf::kernels::gated_residual_backward_reference(g.data(), u.data(), grad.data(), eg.data(), eu.data(), count);
    BOOST_TEST((same_bits(dg, eg) && same_bits(du, eu)));
  }
  for (std::int64_t length : {1, 2, 3, 9}) {
    for (std::int64_t width : {1, 15, 17, 128}) {
      BOOST_TEST_INFO(sf::dtype_name(sf::dtype_of<T>()) << " length " << length << " width " << width);
      const std::int64_t batch = 3, count = batch * length * width;
      const std::vector<T> x = sf::test::random_values<T>(count, 405);
      std::vector<T> y(x.size()), expected(x.size());
      sf::kernels::neighbor_mean(x.data(), y.data(), batch, length, width);
      sf::kernels::neighbor_mean_reference(x.data(), expected.data(), batch, length, width);
      BOOST_TEST(same_bits(y, expected));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels_gating)

BOOST_AUTO_TEST_CASE(kernels_equal_their_references_float) { check_gating_kernels<float>(); }
BOOST_AUTO_TEST_CASE(kernels_equal_their_references_double) { check_gating_kernels<double>(); }

BOOST_AUTO_TEST_CASE(neighbor_mean_averages_each_position_with_its_circular_neighbours) {
  const Tensor x = Tensor::from_vector({1.0, 2.0, 6.0}, {1, 3, 1}, sf::DType::Float64);
  const std::vector<double> y = sf::compute::neighbor_mean(x).to_vector();
  BOOST_TEST(y[0] == (6.0 + 1.0 + 2.0) / 3.0);
  BOOST_TEST(y[1] == (1.0 + 2.0 + 6.0) / 3.0);
  BOOST_TEST(y[2] == (2.0 + 6.0 + 1.0) / 3.0);
}

BOOST_AUTO_TEST_CASE(the_same_bits_on_one_and_two_threads) {
  sf::Generator generator(77);
  Tensor x = Tensor::empty({4, 256, 128}), u = Tensor::empty({4, 256, 128}), g = Tensor::empty({4, 256, 128});
  for (Tensor* tensor : {&x, &u, &g}) sf::normal_(*tensor, generator);
  sf::test::check_thread_invariant(
      [&] {
        const auto interpolation = sf::compute::gated_interpolation_backward(x, u, g, x);
        const auto residual = sf::compute::gated_residual_backward(g, u, x);
        return std::vector<Tensor>{sf::compute::neighbor_mean(x), sf::compute::gated_interpolation(x, u, g),
                                   sf::compute::gated_residual(x, g, u), interpolation.grad_x, interpolation.grad_g,
                                   residual.grad_g};
      },
      "gating");
}

BOOST_AUTO_TEST_CASE(zero_size_inputs_give_empty_results) {
  for (const sf::Shape& shape : std::vector<sf::Shape>{{2, 0, 3}, {0, 4, 3}, {2, 4, 0}, {0, 0}}) {
    BOOST_TEST_INFO(sf::shape_string(shape));
    const Tensor x = Tensor::zeros(shape);
    BOOST_TEST(sf::compute::neighbor_mean(x).shape() == shape);
    BOOST_TEST(sf::compute::gated_interpolation(x, x, x).numel() == 0);
    BOOST_TEST(sf::compute::gated_residual(x, x, x).numel() == 0);
    BOOST_TEST(sf::compute::gated_interpolation_backward(x, x, x, x).grad_g.numel() == 0);
    BOOST_TEST(sf::compute::gated_residual_backward(x, x, x).grad_u.numel() == 0);
  }
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_refused_with_every_shape) {
  check_error_message([] { (void)sf::compute::neighbor_mean(Tensor::zeros({5})); },
                      "neighbor_mean: input [5] needs a batch axis 0 and a sequence axis 1");
  check_error_message(
      [] { (void)sf::compute::gated_interpolation(Tensor::zeros({2, 3}), Tensor::zeros({2, 3}), Tensor::zeros({3, 2})); },
      "gated_interpolation: inputs must have one shape, got x [2, 3], u [2, 3], g [3, 2]");
  check_error_message(
      [] {
        (void)sf::compute::gated_residual(Tensor::zeros({2, 3}), Tensor::zeros({2, 3}),
                                          Tensor::zeros({2, 3}, sf::DType::Float64));
      },
      "gated_residual");
}

BOOST_AUTO_TEST_SUITE_END()
