// Tensor-level elementwise functions: NumPy broadcasting (scalar, row, column, size-1 middle
// dimensions, non-contiguous / permuted / sliced / expanded inputs) against a naive reference
// built from expand() + contiguous() + the scalar kernels; in-place forms; dropout masks; errors.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "sf/core/compute.hpp"
#include "test_kernels_util.hpp"
#include "test_util.hpp"

using sf::Shape;
using sf::Tensor;
using sf::compute::Binary;
using sf::compute::Unary;
using sf::test::check_error_message;

namespace {

struct BroadcastCase {
  std::string description;
  Tensor a, b;
};

// Pairs covering every broadcasting and layout situation the broadcast planner distinguishes.
std::vector<BroadcastCase> broadcast_cases(sf::DType dtype) {
  auto random = [dtype](const Shape& shape, std::uint64_t seed) { return sf::test::random_tensor(shape, dtype, seed, 0.5, 3.0); };
  return {
      {"same shape", random({3, 4}, 1), random({3, 4}, 2)},
      {"0-d scalar", random({3, 4}, 3), random({}, 4)},
      {"scalar first", random({}, 5), random({2, 5}, 6)},
      {"[5] with [1]", random({5}, 7), random({1}, 8)},
      {"row [4]", random({3, 4}, 9), random({4}, 10)},
      {"column [3, 1]", random({3, 1}, 11), random({3, 4}, 12)},
      {"size-1 middle", random({2, 1, 4}, 13), random({2, 3, 4}, 14)},
      {"both broadcast", random({2, 1, 4}, 15), random({3, 1}, 16)},
      {"transposed", random({4, 3}, 17).transpose(0, 1), random({3, 4}, 18)},
      {"sliced with step", random({3, 8}, 19).slice(1, 0, 8, 2), random({4}, 20)},
      {"expanded", random({1, 4}, 21).expand({3, 4}), random({3, 4}, 22)},
      {"permuted 3-d", random({4, 2, 3}, 23).permute({1, 2, 0}), random({3, 1}, 24)},
      {"strided rows", random({6, 10}, 25).slice(0, 1, 5).slice(1, 0, 7), random({7}, 26)},
      {"large rows", random({300, 257}, 27), random({257}, 28)},
      {"large outer", random({1000, 1}, 29), random({1, 300}, 30)},
      {"large flat", random({100003}, 31), random({100003}, 32)},
      {"empty", random({0, 4}, 33), random({4}, 34)},
  };
}

const std::vector<Binary> kBinaryOps = {Binary::Add,     Binary::Subtract,  Binary::Multiply, Binary::Divide,
                                        Binary::Maximum, Binary::Minimum,   Binary::Equal,    Binary::NotEqual,
                                        Binary::Less,    Binary::LessEqual, Binary::Greater,  Binary::GreaterEqual};

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels_compute_elementwise)

BOOST_AUTO_TEST_CASE(binary_broadcasting_matches_naive_reference) {
  for (sf::DType dtype : sf::test::kDTypes)
    for (const BroadcastCase& example : broadcast_cases(dtype))
      for (Binary op : kBinaryOps) {
        const std::string context = example.description + " " + sf::kernels::binary_name(op) + " " +
                                    std::string(sf::dtype_name(dtype));
        const Tensor result = sf::compute::binary(op, example.a, example.b);
        BOOST_TEST_INFO(context);
        BOOST_TEST(result.is_contiguous());
        sf::test::check_close(result, sf::test::naive_binary(op, example.a, example.b), context);
      }
}

BOOST_AUTO_TEST_CASE(wrappers_and_scalar_forms) {
  const Tensor a = sf::test::random_tensor({4, 6}, sf::DType::Float64, 40, 0.5, 2.0);
  const Tensor b = sf::test::random_tensor({6}, sf::DType::Float64, 41, 0.5, 2.0);
  const std::vector<std::pair<Tensor, Binary>> wrapped = {
      {sf::compute::add(a, b), Binary::Add},         {sf::compute::subtract(a, b), Binary::Subtract},
      {sf::compute::multiply(a, b), Binary::Multiply}, {sf::compute::divide(a, b), Binary::Divide},
      {sf::compute::maximum(a, b), Binary::Maximum},   {sf::compute::minimum(a, b), Binary::Minimum}};
  for (const auto& [result, op] : wrapped) sf::test::check_close(result, sf::test::naive_binary(op, a, b), sf::kernels::binary_name(op));

  const Tensor strided = a.transpose(0, 1);  // [6, 4], not contiguous
  const Tensor dense = strided.contiguous();
  const std::vector<double> values = dense.to_vector();
  auto expect_map = [&](const Tensor& result, auto&& function, const std::string& context) {
    std::vector<double> expected(values.size());
    for (std::size_t index = 0; index < values.size(); ++index) expected[index] = function(values[index]);
    sf::test::check_close(result, Tensor::from_vector(expected, {6, 4}), context);
  };
  expect_map(sf::compute::add_scalar(strided, 1.5), [](double v) { return v + 1.5; }, "add_scalar");
  expect_map(sf::compute::multiply_scalar(strided, -3.0), [](double v) { return v * -3.0; }, "multiply_scalar");
  expect_map(sf::compute::power_scalar(strided, 2.5), [](double v) { return std::pow(v, 2.5); }, "power_scalar");
  expect_map(sf::compute::power_scalar(strided, 2.0), [](double v) { return v * v; }, "power_scalar 2");
  expect_map(sf::compute::clamp(strided, 0.8, 1.2), [](double v) { return std::min(std::max(v, 0.8), 1.2); }, "clamp");
}

BOOST_AUTO_TEST_CASE(unary_on_strided_inputs) {
  for (sf::DType dtype : sf::test::kDTypes) {
    const Tensor base = sf::test::random_tensor({5, 9}, dtype, 50, 0.2, 3.0);
    const Tensor strided = base.slice(1, 1, 9, 2).transpose(0, 1);  // [4, 5]
    for (Unary op : {Unary::Negate, Unary::Exp, Unary::Log, Unary::Sqrt, Unary::Tanh, Unary::Sigmoid, Unary::Relu,
                     Unary::GeluErf, Unary::GeluTanh, Unary::Abs, Unary::Square, Unary::Reciprocal}) {
      const Tensor result = sf::compute::unary(op, strided);
      const Tensor dense = strided.contiguous();
      Tensor expected = Tensor::empty(dense.shape(), dtype);
      sf::dispatch_dtype(dtype, [&](auto tag) {
        using T = decltype(tag);
        sf::kernels::unary_reference(op, dense.data<T>(), expected.data<T>(), dense.numel());
      });
      sf::test::check_close(result, expected, sf::kernels::unary_name(op));
    }
  }
}

BOOST_AUTO_TEST_CASE(unary_backward_reads_x_or_y) {
  const Tensor x = sf::test::random_tensor({3, 7}, sf::DType::Float64, 60, 0.2, 2.0);
  const Tensor grad = sf::test::random_tensor({3, 7}, sf::DType::Float64, 61);
  // exp reads y only: passing an undefined x must work, and the result is y · grad.
  const Tensor y = sf::compute::unary(Unary::Exp, x);
  sf::test::check_close(sf::compute::unary_backward(Unary::Exp, Tensor(), y, grad), sf::compute::multiply(y, grad),
                        "exp backward");
  // log reads x only: grad / x.
  sf::test::check_close(sf::compute::unary_backward(Unary::Log, x, Tensor(), grad), sf::compute::divide(grad, x),
                        "log backward");
  sf::test::check_close(sf::compute::unary_backward(Unary::Negate, Tensor(), Tensor(), grad),
                        sf::compute::multiply_scalar(grad, -1.0), "negate backward");
  check_error_message([&] { (void)sf::compute::unary_backward(Unary::Exp, x, Tensor(), grad); },
                      "exp_backward: needs the output y, which is undefined");
  check_error_message([&] { (void)sf::compute::unary_backward(Unary::Log, Tensor(), y, grad); },
                      "log_backward: needs the input x, which is undefined");
  check_error_message([&] { (void)sf::compute::unary_backward(Unary::Log, x, Tensor(), grad.slice(1, 0, 3)); },
                      "log_backward: shape mismatch: [3, 7] vs [3, 3]");
}

BOOST_AUTO_TEST_CASE(where_and_masked_fill_broadcast) {
  // The condition is float64 and holds 1e-50, which a float conversion would flush to 0.
  const Tensor condition = Tensor::from_vector(std::vector<double>{0.0, 2.5, 1e-50}, {3, 1});
  const Tensor a = sf::test::random_tensor({3, 4}, sf::DType::Float32, 70);
  const Tensor b = Tensor::scalar(-9.0);
  const Tensor result = sf::compute::where(condition, a, b);
  BOOST_TEST((result.shape() == Shape{3, 4}));
  for (std::int64_t column = 0; column < 4; ++column) {
    BOOST_TEST(result.at({0, column}) == -9.0);
    BOOST_TEST(result.at({1, column}) == a.at({1, column}));
    BOOST_TEST(result.at({2, column}) == a.at({2, column}));
  }
  // Same-dtype condition with every operand broadcast and a strided value input.
  const Tensor mask = Tensor::from_vector(std::vector<float>{1, 0, 0, 1}, {4});
  const Tensor values = sf::test::random_tensor({4, 3}, sf::DType::Float32, 71).transpose(0, 1);  // [3, 4]
  const Tensor filled = sf::compute::masked_fill(values, mask, 7.0);
  for (std::int64_t row = 0; row < 3; ++row)
    for (std::int64_t column = 0; column < 4; ++column)
      BOOST_TEST(filled.at({row, column}) == (column == 0 || column == 3 ? 7.0 : values.at({row, column})));
  check_error_message([&] { (void)sf::compute::masked_fill(values, Tensor::zeros({5}), 0.0); },
                      "masked_fill: mask [5] cannot be broadcast to input [3, 4]");
  check_error_message([&] { (void)sf::compute::where(Tensor::zeros({2}), Tensor::zeros({3}), Tensor::zeros({3})); },
                      "where: shapes cannot be broadcast: condition [2], a [3], b [3]");
}

BOOST_AUTO_TEST_CASE(add_in_place_broadcasts_and_bumps_version) {
  for (sf::DType dtype : sf::test::kDTypes) {
    Tensor destination = sf::test::random_tensor({5, 6}, dtype, 80);
    const Tensor before = destination.clone();
    const Tensor source = sf::test::random_tensor({6}, dtype, 81);
    const auto version = destination.storage()->version();
    sf::compute::add_(destination, source, 2.0);
    BOOST_TEST(destination.storage()->version() > version);
    sf::test::check_close(destination, sf::compute::add(before, sf::compute::multiply_scalar(source, 2.0)), "add_");
    // Accumulating a strided (transposed) source.
    const Tensor transposed = sf::test::random_tensor({6, 5}, dtype, 82).transpose(0, 1);
    Tensor accumulator = before.clone();
    sf::compute::add_(accumulator, transposed);
    sf::test::check_close(accumulator, sf::compute::add(before, transposed), "add_ transposed");
    sf::compute::scale_(accumulator, 0.5);
    sf::test::check_close(accumulator, sf::compute::multiply_scalar(sf::compute::add(before, transposed), 0.5), "scale_");
  }
  Tensor transposed_destination = Tensor::zeros({4, 3}).transpose(0, 1);
  check_error_message([&] { sf::compute::add_(transposed_destination, Tensor::zeros({3, 4})); },
                      "add_: destination [3, 4] must be contiguous");
  Tensor destination = Tensor::zeros({3, 4});
  check_error_message([&] { sf::compute::add_(destination, Tensor::zeros({5})); },
                      "add_: source [5] cannot be broadcast to destination [3, 4]");
  check_error_message([&] { sf::compute::add_(destination, Tensor::zeros({4}, sf::DType::Float64)); },
                      "add_: dtype mismatch: float32 [3, 4] vs float64 [4]");
}

BOOST_AUTO_TEST_CASE(dropout_mask_uses_one_block_per_four_elements) {
  for (sf::DType dtype : sf::test::kDTypes) {
    sf::Generator generator(1234, 10);
    const double p = 0.25;
    const Tensor mask = sf::compute::dropout_mask({300, 70}, generator, p, dtype);  // 21000 elements
    BOOST_TEST(generator.offset == 10u + 5250u);
    const std::vector<double> values = mask.to_vector();
    std::int64_t kept = 0;
    const double scale = static_cast<double>(dtype == sf::DType::Float32 ? static_cast<double>(static_cast<float>(1.0 / 0.75)) : 1.0 / 0.75);
    const std::uint64_t threshold = 3ull << 30;  // 0.75 · 2^32
    for (std::size_t index = 0; index < values.size(); ++index) {
      const auto words = sf::Generator(1234).block(10 + index / 4);
      const bool keep = words[index % 4] < threshold;
      BOOST_TEST_INFO("element " << index);
      BOOST_REQUIRE(values[index] == (keep ? scale : 0.0));
      kept += keep;
    }
    BOOST_TEST(std::fabs(static_cast<double>(kept) / 21000.0 - 0.75) < 0.02);
  }
  // An element count that is not a multiple of 4 still advances by whole blocks.
  sf::Generator odd(7);
  (void)sf::compute::dropout_mask({2, 3}, odd, 0.5);
  BOOST_TEST(odd.offset == 2u);
  sf::Generator generator(5);
  for (double value : sf::compute::dropout_mask({100}, generator, 0.0).to_vector()) BOOST_TEST(value == 1.0);
  for (double value : sf::compute::dropout_mask({100}, generator, 1.0).to_vector()) BOOST_TEST(value == 0.0);
  check_error_message([&] { (void)sf::compute::dropout_mask({2, 3}, generator, 1.5); },
                      "dropout_mask: drop probability must be in [0, 1], got 1.5 (shape [2, 3])");
}

// compute::dropout is x ⊙ dropout_mask plus to_byte_mask of that mask, in one pass: the same
// bits, the same generator advance, for a whole batch and for a shard that starts inside a block.
BOOST_AUTO_TEST_CASE(dropout_in_one_pass_equals_mask_multiply_and_byte_mask) {
  for (sf::DType dtype : sf::test::kDTypes) {
    std::vector<double> values(6 * 7);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i % 5) - 2.5;
    const Tensor x = Tensor::from_vector(values, {6, 7}, dtype);
    for (const auto& [first, local] : std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 6}, {1, 2}, {5, 1}}) {
      sf::Generator composed(31, 5), fused(31, 5);
      composed.shard = fused.shard = {.rows = 6, .first = first, .local = local};
      const Tensor part = x.slice(0, first, first + local).contiguous();
      const Tensor mask = sf::compute::dropout_mask(part.shape(), composed, 0.4, dtype);
      const Tensor expected = sf::compute::multiply(part, mask);
      const sf::compute::ByteMask expected_mask =
          sf::compute::to_byte_mask(mask, sf::compute::dropout_kept_value(0.4, dtype));
      const sf::compute::DropoutResult result = sf::compute::dropout(part, fused, 0.4, true);
      BOOST_TEST_INFO(sf::dtype_name(dtype) << " rows " << first << " to " << first + local);
      BOOST_TEST(result.output.to_vector() == expected.to_vector(), boost::test_tools::per_element());
      BOOST_TEST(result.mask.keep == expected_mask.keep, boost::test_tools::per_element());
      BOOST_TEST(result.mask.kept_value == expected_mask.kept_value);
      BOOST_TEST((result.mask.shape == part.shape() && result.mask.dtype == dtype));
      BOOST_TEST(fused.offset == composed.offset);
      BOOST_TEST(sf::compute::dropout(part, fused, 0.4, false).mask.keep.empty());
    }
  }
  sf::Generator generator(5);
  check_error_message([&] { (void)sf::compute::dropout(Tensor::zeros({2, 3}), generator, -0.5, true); },
                      "dropout: drop probability must be in [0, 1], got -0.5 (input");
}

BOOST_AUTO_TEST_CASE(dropout_mask_float32_and_float64_agree) {
  sf::Generator single(99, 3), twice(99, 3);
  const std::vector<double> a = sf::compute::dropout_mask({1001}, single, 0.3, sf::DType::Float32).to_vector();
  const std::vector<double> b = sf::compute::dropout_mask({1001}, twice, 0.3, sf::DType::Float64).to_vector();
  for (std::size_t index = 0; index < a.size(); ++index) BOOST_REQUIRE((a[index] == 0.0) == (b[index] == 0.0));
}

// The byte form a dropout node keeps for backward must multiply like the float mask it came
// from, bit for bit: odd lengths (tails of the vector loops), several parallel chunks, a
// non-contiguous input, float32 and float64, p = 0.1 / 0.5 / 0.9.
BOOST_AUTO_TEST_CASE(byte_mask_multiplies_like_the_float_mask) {
  for (sf::DType dtype : {sf::DType::Float32, sf::DType::Float64})
    for (double p : {0.1, 0.5, 0.9}) {
      sf::Generator generator(7, 1);
      const Shape shape{3, 40001};  // 120,003 elements: several tasks and a ragged tail
      const Tensor mask = sf::compute::dropout_mask(shape, generator, p, dtype);
      const sf::compute::ByteMask bytes = sf::compute::to_byte_mask(mask, sf::compute::dropout_kept_value(p, dtype));
      BOOST_TEST(bytes.keep.size() == 120003u);
      const Tensor x = sf::normal({40001, 3}, generator, 0.0, 1.0, dtype).transpose(0, 1);  // strided
      const Tensor expected = sf::compute::multiply(x, mask);
      const Tensor got = sf::compute::multiply_by_mask(x, bytes);
      const std::vector<double> e = expected.to_vector(), g = got.to_vector();
      std::int64_t differences = 0;
      for (std::size_t i = 0; i < e.size(); ++i)
        differences += std::memcmp(&e[i], &g[i], sizeof(double)) != 0;
      BOOST_TEST(differences == 0, differences << " elements differ, p = " << p);
    }
  sf::Generator small(1, 1);
  const Tensor mask = sf::compute::dropout_mask({4}, small, 0.5);
  const sf::compute::ByteMask bytes = sf::compute::to_byte_mask(mask, 2.0);
  check_error_message([&] { (void)sf::compute::multiply_by_mask(Tensor::zeros({5}), bytes); },
                      "multiply_by_mask: input float32 [5]");
  check_error_message([&] { (void)sf::compute::to_byte_mask(mask, 0.1); }, "to_byte_mask: kept value 0.1 is not a float32");
}

BOOST_AUTO_TEST_CASE(errors_name_the_op_and_shapes) {
  check_error_message([] { (void)sf::compute::add(Tensor::zeros({32, 128}), Tensor::zeros({64, 16})); },
                      "add: shapes cannot be broadcast: [32, 128] vs [64, 16]");
  check_error_message([] { (void)sf::compute::binary(Binary::Less, Tensor::zeros({2}), Tensor::zeros({3})); },
                      "less: shapes cannot be broadcast: [2] vs [3]");
  check_error_message(
      [] { (void)sf::compute::multiply(Tensor::zeros({2}), Tensor::zeros({2}, sf::DType::Float64)); },
      "multiply: dtype mismatch: float32 [2] vs float64 [2]");
  check_error_message([] { (void)sf::compute::clamp(Tensor::zeros({2}), 2.0, 1.0); },
                      "clamp: low 2 is greater than high 1 for tensor [2]");
  check_error_message([] { (void)sf::compute::unary(Unary::Exp, Tensor()); }, "exp: input is an undefined tensor");
}

BOOST_AUTO_TEST_SUITE_END()
