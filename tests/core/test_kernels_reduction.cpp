// Reductions: the [outer, reduce, inner] kernels against their naive references, and the tensor
// functions sum / mean / max / argmax / sum_to over every axis set, with keepdim, on strided inputs,
// against a naive multi-index reduction.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "sf/core/compute.hpp"
#include "sf/core/kernels/reduction.hpp"
#include "test_kernels_util.hpp"
#include "test_util.hpp"

using sf::Shape;
using sf::Tensor;
using sf::test::check_error_message;

namespace {

// A sum may lose relative accuracy when it cancels: compare with a tolerance on Σ|x| instead.
template <class T>
void check_sums(const std::vector<T>& x, std::int64_t outer, std::int64_t reduce, std::int64_t inner,
                const std::string& context) {
  std::vector<T> out(static_cast<std::size_t>(outer * inner)), expected(out.size()), magnitude(out.size());
  sf::kernels::sum_axis(x.data(), outer, reduce, inner, out.data());
  sf::kernels::sum_axis_reference(x.data(), outer, reduce, inner, expected.data());
  std::vector<T> absolute(x.size());
  for (std::size_t index = 0; index < x.size(); ++index) absolute[index] = std::fabs(x[index]);
  sf::kernels::sum_axis_reference(absolute.data(), outer, reduce, inner, magnitude.data());
  const double epsilon = std::numeric_limits<T>::epsilon();
  std::int64_t bad = 0;
  for (std::size_t index = 0; index < out.size(); ++index)
    if (std::fabs(static_cast<double>(out[index]) - static_cast<double>(expected[index])) >
        2.0 * epsilon * static_cast<double>(reduce + 2) * static_cast<double>(magnitude[index]) + 1e-30)
      ++bad;
  BOOST_TEST_INFO(context);
  BOOST_TEST(bad == 0);
}

// Naive reference for sum/mean over `axes` of any tensor: every element added to its output slot.
Tensor naive_sum(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdim, bool mean) {
  const Shape& shape = x.shape();
  std::vector<bool> reduced(shape.size(), axes.empty());
  for (std::int64_t axis : axes) reduced[static_cast<std::size_t>(axis < 0 ? axis + x.dim() : axis)] = true;
  Shape output_shape, kept_shape;
  for (std::size_t axis = 0; axis < shape.size(); ++axis) {
    if (!reduced[axis]) kept_shape.push_back(shape[axis]);
    if (!reduced[axis] || keepdim) output_shape.push_back(reduced[axis] ? 1 : shape[axis]);
  }
  std::vector<double> totals(static_cast<std::size_t>(sf::shape_numel(kept_shape)), 0.0);
  const std::vector<double> values = x.to_vector();
  for (std::size_t position = 0; position < values.size(); ++position) {
    const auto index = sf::test::unravel(static_cast<std::int64_t>(position), shape);
    std::int64_t slot = 0;
    for (std::size_t axis = 0; axis < shape.size(); ++axis)
      if (!reduced[axis]) slot = slot * shape[axis] + index[axis];
    totals[static_cast<std::size_t>(slot)] += values[position];
  }
  if (mean) {
    const double count = static_cast<double>(values.size()) / static_cast<double>(std::max<std::size_t>(totals.size(), 1));
    for (double& total : totals) total /= count;
  }
  return Tensor::from_vector(totals, output_shape, x.dtype());
}

// Every subset of the axes of an ndim tensor, as lists of axes.
std::vector<std::vector<std::int64_t>> axis_subsets(std::int64_t ndim) {
  std::vector<std::vector<std::int64_t>> subsets;
  for (std::int64_t bits = 1; bits < (1 << ndim); ++bits) {
    std::vector<std::int64_t> axes;
    for (std::int64_t axis = 0; axis < ndim; ++axis)
      if (bits & (1 << axis)) axes.push_back(axis);
    subsets.push_back(axes);
  }
  return subsets;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels_reduction)

BOOST_AUTO_TEST_CASE(sum_axis_matches_reference) {
  const std::vector<std::array<std::int64_t, 3>> layouts = {
      {1, 0, 1},  {3, 0, 5},    {1, 1, 1},    {1, 7, 1},  {4, 15, 1},  {3, 16, 1},  {2, 17, 1},   {5, 33, 1},
      {1, 1000, 1}, {1, 100003, 1}, {3, 40000, 1}, {2, 5, 7},  {3, 17, 16}, {2, 9, 33},  {4, 100, 65}, {1, 3000, 129},
      {2, 1, 17}};
  for (const auto& [outer, reduce, inner] : layouts) {
    const std::string context = std::to_string(outer) + "x" + std::to_string(reduce) + "x" + std::to_string(inner);
    check_sums(sf::test::random_values<float>(outer * reduce * inner, 7), outer, reduce, inner, "float " + context);
    check_sums(sf::test::random_values<double>(outer * reduce * inner, 8), outer, reduce, inner, "double " + context);
  }
}

template <class T>
void check_max_axis() {
  const std::vector<std::array<std::int64_t, 3>> layouts = {{1, 1, 1},  {3, 7, 1},   {2, 17, 1}, {1, 1000, 1},
                                                            {2, 100003, 1}, {2, 5, 7}, {3, 17, 33}, {2, 40, 130}};
  for (const auto& [outer, reduce, inner] : layouts) {
    // Few distinct values so that ties are common: the first index must win.
    std::vector<T> x = sf::test::random_values<T>(outer * reduce * inner, 9, 0.0, 8.0);
    for (T& value : x) value = std::floor(value);
    std::vector<T> values(static_cast<std::size_t>(outer * inner)), expected_values(values.size());
    std::vector<std::int64_t> indices(values.size()), expected_indices(values.size());
    sf::kernels::max_axis(x.data(), outer, reduce, inner, values.data(), indices.data());
    sf::kernels::max_axis_reference(x.data(), outer, reduce, inner, expected_values.data(), expected_indices.data());
    BOOST_TEST_INFO(outer << "x" << reduce << "x" << inner);
    BOOST_TEST(values == expected_values);
    BOOST_TEST_INFO(outer << "x" << reduce << "x" << inner);
    BOOST_TEST(indices == expected_indices);
  }
  // NaN counts as the maximum; -inf everywhere still has a maximum at index 0.
  const T nan = std::numeric_limits<T>::quiet_NaN(), infinity = std::numeric_limits<T>::infinity();
  std::vector<T> x(40, T(1));
  x[23] = nan;
  x[31] = nan;
  T value = 0;
  std::int64_t index = 0;
  sf::kernels::max_axis(x.data(), 1, 40, 1, &value, &index);
  BOOST_TEST(std::isnan(value));
  BOOST_TEST(index == 23);
  std::vector<T> masked(20, -infinity);
  sf::kernels::max_axis(masked.data(), 1, 20, 1, &value, &index);
  BOOST_TEST(value == -infinity);
  BOOST_TEST(index == 0);
}

BOOST_AUTO_TEST_CASE(max_axis_matches_reference) {
  check_max_axis<float>();
  check_max_axis<double>();
}

BOOST_AUTO_TEST_CASE(sum_and_mean_over_every_axis_set) {
  for (sf::DType dtype : sf::test::kDTypes) {
    const Tensor x = sf::test::random_tensor({3, 4, 5, 6}, dtype, 100);
    // Also a permuted view and a tensor with a size-1 axis between reduced ones.
    const Tensor permuted = sf::test::random_tensor({5, 3, 6, 4}, dtype, 101).permute({1, 3, 0, 2});
    const Tensor with_unit = sf::test::random_tensor({3, 1, 5, 6}, dtype, 102);
    for (const Tensor* input : std::initializer_list<const Tensor*>{&x, &permuted, &with_unit})
      for (const auto& axes : axis_subsets(4))
        for (bool keepdim : {false, true}) {
          const std::string context = "axes " + sf::shape_string(axes) + (keepdim ? " keepdim " : " ") +
                                      sf::shape_string(input->shape()) + " " + std::string(sf::dtype_name(dtype));
          sf::test::check_close(sf::compute::sum(*input, axes, keepdim), naive_sum(*input, axes, keepdim, false),
                                "sum " + context);
          sf::test::check_close(sf::compute::mean(*input, axes, keepdim), naive_sum(*input, axes, keepdim, true),
                                "mean " + context);
        }
    sf::test::check_close(sf::compute::sum(x), naive_sum(x, {}, false, false), "sum of all");
    sf::test::check_close(sf::compute::sum(x, {-1, -3}, true), naive_sum(x, {1, 3}, true, false), "negative axes");
  }
}

BOOST_AUTO_TEST_CASE(degenerate_reductions) {
  const Tensor scalar = Tensor::scalar(2.5);
  BOOST_TEST(sf::compute::sum(scalar).item() == 2.5);
  BOOST_TEST(sf::compute::sum(scalar).dim() == 0);
  const Tensor empty_axis = Tensor::zeros({3, 0});
  const Tensor sums = sf::compute::sum(empty_axis, {1});
  BOOST_TEST((sums.shape() == Shape{3}));
  for (double value : sums.to_vector()) BOOST_TEST(value == 0.0);
  for (double value : sf::compute::mean(empty_axis, {1}).to_vector()) BOOST_TEST(std::isnan(value));
  BOOST_TEST((sf::compute::sum(empty_axis, {0}).shape() == Shape{0}));
}

BOOST_AUTO_TEST_CASE(max_and_argmax_every_axis) {
  for (sf::DType dtype : sf::test::kDTypes) {
    Tensor x = sf::test::random_tensor({4, 5, 6}, dtype, 110, 0.0, 5.0);
    x = sf::compute::unary(sf::compute::Unary::Abs, x);
    const Tensor strided = x.transpose(0, 2);  // [6, 5, 4]
    for (const Tensor* input : std::initializer_list<const Tensor*>{&x, &strided})
      for (std::int64_t axis = -3; axis < 3; ++axis)
        for (bool keepdim : {false, true}) {
          const Tensor values = sf::compute::max(*input, axis, keepdim);
          const std::vector<std::int64_t> indices = sf::compute::argmax(*input, axis);
          const std::int64_t normalized = axis < 0 ? axis + 3 : axis;
          Shape reduced_shape = input->shape();
          reduced_shape.erase(reduced_shape.begin() + normalized);
          Shape expected_shape = input->shape();
          expected_shape[static_cast<std::size_t>(normalized)] = 1;
          BOOST_TEST((values.shape() == (keepdim ? expected_shape : reduced_shape)));
          BOOST_REQUIRE(static_cast<std::int64_t>(indices.size()) == sf::shape_numel(reduced_shape));
          const std::vector<double> flat = values.to_vector();
          for (std::int64_t position = 0; position < sf::shape_numel(reduced_shape); ++position) {
            auto index = sf::test::unravel(position, reduced_shape);
            index.insert(index.begin() + normalized, 0);
            double best = -1;
            std::int64_t best_index = -1;
            for (std::int64_t r = 0; r < input->shape()[static_cast<std::size_t>(normalized)]; ++r) {
              index[static_cast<std::size_t>(normalized)] = r;
              const Tensor element = input->slice(0, index[0], index[0] + 1).slice(1, index[1], index[1] + 1).slice(2, index[2], index[2] + 1);
              if (element.item() > best) {
                best = element.item();
                best_index = r;
              }
            }
            BOOST_TEST(flat[static_cast<std::size_t>(position)] == best);
            BOOST_TEST(indices[static_cast<std::size_t>(position)] == best_index);
          }
        }
  }
  check_error_message([] { (void)sf::compute::max(Tensor::zeros({2, 0}), 1); },
                      "max: cannot reduce over axis 1 of size 0 in tensor [2, 0]");
  check_error_message([] { (void)sf::compute::argmax(Tensor::zeros({2, 3}), 2); },
                      "argmax: axis 2 out of range for 2-d tensor [2, 3]");
}

BOOST_AUTO_TEST_CASE(sum_to_reduces_broadcast_dimensions) {
  const Tensor x = sf::test::random_tensor({2, 3, 4}, sf::DType::Float64, 120);
  sf::test::check_close(sf::compute::sum_to(x, {3, 1}), naive_sum(x, {0, 2}, true, false).reshape({3, 1}), "[3, 1]");
  sf::test::check_close(sf::compute::sum_to(x, {4}), naive_sum(x, {0, 1}, false, false), "[4]");
  sf::test::check_close(sf::compute::sum_to(x, {1, 1, 1}), naive_sum(x, {}, true, false), "[1, 1, 1]");
  sf::test::check_close(sf::compute::sum_to(x, {}), naive_sum(x, {}, false, false), "[]");
  sf::test::check_close(sf::compute::sum_to(x, {2, 1, 4}), naive_sum(x, {1}, true, false), "[2, 1, 4]");
  const Tensor same = sf::compute::sum_to(x, {2, 3, 4});
  BOOST_TEST(same.storage() != x.storage());
  sf::test::check_close(same, x, "same shape");
  check_error_message([&] { (void)sf::compute::sum_to(x, {3, 3}); },
                      "sum_to: shape [3, 3] does not broadcast to tensor [2, 3, 4]");
}

BOOST_AUTO_TEST_CASE(reduction_errors) {
  const Tensor x = Tensor::zeros({2, 3});
  check_error_message([&] { (void)sf::compute::sum(x, {1, -1}); }, "sum: axis -1 repeated in axes [1, -1] for tensor [2, 3]");
  check_error_message([&] { (void)sf::compute::mean(x, {2}); }, "mean: axis 2 out of range for 2-d tensor [2, 3]");
}

BOOST_AUTO_TEST_SUITE_END()
