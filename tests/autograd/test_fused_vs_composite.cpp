// Every fused op against its composite from primitives, values and gradients, in float64.
//
// Each check builds two sets of leaves from the same values, runs the fused op on one and the
// composite on the other, and compares the outputs and the gradients of Σ u ⊙ output for one
// random upstream u. Tolerance: |fused − composite| <= 1e-12 (1 + |composite|) unless stated;
// the two differ only by float64 rounding in a different order of operations.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/functional_local_attention.hpp"
#include "sf/core/compute.hpp"

using sf::DType;
using sf::Generator;
using sf::Shape;
using sf::Tensor;
using sf::Variable;

namespace {

using Inputs = std::vector<Variable>;
using Function = std::function<Variable(const Inputs&)>;
constexpr double kInfinity = std::numeric_limits<double>::infinity();

Tensor random_tensor(const Shape& shape, std::uint64_t seed, double scale = 1.0) {
  Generator generator(seed);
  return normal(shape, generator, 0.0, scale, DType::Float64);
}

Tensor constant(const std::vector<double>& values, const Shape& shape) { return Tensor::from_vector(values, shape); }

// The inverted-dropout mask of the generator's next draw, built by hand from the documented
// contract (compute_elementwise.hpp): element e is kept iff word e % 4 of block e / 4 is below
// (1 − p)·2^32, and kept elements are 1 / (1 − p).
Tensor dropout_mask_by_hand(const Shape& shape, Generator& generator, double probability) {
  const std::int64_t count = sf::shape_numel(shape);
  const std::uint64_t first = generator.reserve(static_cast<std::uint64_t>((count + 3) / 4));
  const auto threshold = static_cast<std::uint64_t>(std::llround((1.0 - probability) * 4294967296.0));
  std::vector<double> mask(static_cast<std::size_t>(count));
  for (std::size_t element = 0; element < mask.size(); ++element)
    mask[element] = generator.block(first + element / 4)[element % 4] < threshold ? 1.0 / (1.0 - probability) : 0.0;
  return Tensor::from_vector(mask, shape, DType::Float64);
}

void check_close(const Tensor& actual, const Tensor& expected, double tolerance, const std::string& what) {
  BOOST_TEST_INFO(what << ": " << actual.describe() << " vs " << expected.describe());
  BOOST_REQUIRE((actual.shape() == expected.shape()));
  const std::vector<double> a = actual.to_vector(), b = expected.to_vector();
  for (std::size_t index = 0; index < a.size(); ++index) {
    BOOST_TEST_INFO(what << " element " << index << ": " << a[index] << " vs " << b[index]);
    BOOST_TEST(std::abs(a[index] - b[index]) <= tolerance * (1.0 + std::abs(b[index])));
  }
}

struct Outcome {
  Tensor output;
  std::vector<Tensor> gradients;  // zeros where an input got none
};

Outcome run(const Function& fn, const std::vector<Tensor>& values, const Tensor& upstream_or_empty,
            Tensor* upstream_out) {
  Inputs leaves;
  for (const Tensor& value : values) leaves.emplace_back(value.clone(), true);
  const Variable output = fn(leaves);
  Tensor upstream = upstream_or_empty;
  if (!upstream.defined()) upstream = random_tensor(output.shape(), 4242);
  if (upstream_out) *upstream_out = upstream;
  output.backward(upstream);
  Outcome outcome{output.data(), {}};
  for (const Variable& leaf : leaves)
    outcome.gradients.push_back(leaf.grad().defined() ? leaf.grad() : Tensor::zeros(leaf.shape(), DType::Float64));
  return outcome;
}

// Fused and composite agree in value and in every input's gradient.
void check_fused(const Function& fused, const Function& composite, const std::vector<Tensor>& values,
                 double tolerance = 1e-12) {
  Tensor upstream;
  const Outcome expected = run(composite, values, Tensor(), &upstream);
  const Outcome actual = run(fused, values, upstream, nullptr);
  check_close(actual.output, expected.output, tolerance, "value");
  for (std::size_t index = 0; index < values.size(); ++index)
    check_close(actual.gradients[index], expected.gradients[index], tolerance, "gradient " + std::to_string(index));
}

// ---- composites from primitives --------------------------------------------------------------

// Σ_k a[..., m, k] b[..., k, n] as a broadcast product [..., M, K, N] summed over K.
Variable composite_matmul(const Variable& a, const Variable& b) {
  return sum(unsqueeze(a, -1) * unsqueeze(b, -3), {-2});
}

Variable composite_softmax(const Variable& x) {
  const Variable e = exp(x);
  return e / sum(e, {-1}, true);
}

Variable composite_log_softmax(const Variable& x) { return x - log(sum(exp(x), {-1}, true)); }

// -mean over counted rows of [(1 − ε) log p_t + (ε / C) Σ_c log p_c].
Variable composite_cross_entropy(const Variable& logits, const std::vector<std::int64_t>& targets,
                                 const sf::CrossEntropyOptions& options) {
  const std::int64_t rows = logits.size(0), classes = logits.size(1);
  std::vector<std::int64_t> safe_targets;
  std::vector<double> counted;
  for (std::int64_t target : targets) {
    const bool ignored = target == options.ignore_index;
    safe_targets.push_back(ignored ? 0 : target);
    counted.push_back(ignored ? 0.0 : 1.0);
  }
  const Variable log_p = composite_log_softmax(logits);
  const Variable picked = reshape(gather(log_p, 1, safe_targets, {rows, 1}), {rows});
  const Variable per_row = -(picked * (1.0 - options.label_smoothing) +
                             sum(log_p, {1}) * (options.label_smoothing / static_cast<double>(classes))) *
                           Variable(constant(counted, {rows}));
  double count = 0.0;
  for (double value : counted) count += value;
  if (options.reduction == sf::Reduction::None) return per_row;
  if (options.reduction == sf::Reduction::Sum) return sum(per_row);
  return sum(per_row) * (1.0 / count);
}

Variable composite_layer_norm(const Variable& x, const Variable& weight, const Variable& bias, double eps) {
  const Variable centered = x - mean(x, {-1}, true);
  const Variable normalized = centered / sqrt(mean(centered * centered, {-1}, true) + eps);
  return weight.defined() ? normalized * weight + bias : normalized;
}

// 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
Variable composite_gelu_tanh(const Variable& x) {
  const double c = std::sqrt(2.0 / std::numbers::pi);
  return 0.5 * x * (tanh((x + 0.044715 * pow(x, 3.0)) * c) + 1.0);
}

// 1 on the allowed (query, key) pairs of a band |i − j| <= window.
Tensor band(std::int64_t queries, std::int64_t keys, std::int64_t window) {
  Tensor allowed = Tensor::zeros({queries, keys}, DType::Float64);
  for (std::int64_t i = 0; i < queries; ++i)
    for (std::int64_t j = 0; j < keys; ++j)
      if (std::abs(i - j) <= window) allowed.set({i, j}, 1.0);
  return allowed;
}

Tensor blocked_of(const Tensor& allowed) {  // 1 − allowed
  return sf::compute::add_scalar(sf::compute::multiply_scalar(allowed, -1.0), 1.0);
}

Variable attention_scores(const Variable& q, const Variable& k, double scale) {
  return matmul(q, k, false, true) * scale;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fused_vs_composite)

BOOST_AUTO_TEST_CASE(matmul_equals_a_broadcast_multiply_and_sum) {
  const Function fused = [](const Inputs& x) { return matmul(x[0], x[1]); };
  const Function composite = [](const Inputs& x) { return composite_matmul(x[0], x[1]); };
  check_fused(fused, composite, {random_tensor({3, 4}, 1), random_tensor({4, 5}, 2)});
  check_fused(fused, composite, {random_tensor({2, 3, 4}, 3), random_tensor({4, 5}, 4)});        // broadcast batch
  check_fused(fused, composite, {random_tensor({2, 1, 3, 4}, 5), random_tensor({3, 4, 2}, 6)});  // both broadcast
  check_fused(fused, composite, {random_tensor({1, 1}, 7), random_tensor({1, 6}, 8)});           // size-1 dims
  check_fused([](const Inputs& x) { return matmul(x[0], x[1], true, true); },
              [](const Inputs& x) { return composite_matmul(transpose(x[0], -1, -2), transpose(x[1], -1, -2)); },
              {random_tensor({2, 4, 3}, 9), random_tensor({5, 4}, 10)});
  check_fused([](const Inputs& x) { return matmul(x[0], x[1], true, false); },
              [](const Inputs& x) { return composite_matmul(transpose(x[0], -1, -2), x[1]); },
              {random_tensor({4, 3}, 11), random_tensor({2, 4, 5}, 12)});
}

BOOST_AUTO_TEST_CASE(linear_equals_matmul_plus_bias) {
  check_fused([](const Inputs& x) { return linear(x[0], x[1], x[2]); },
              [](const Inputs& x) { return composite_matmul(x[0], transpose(x[1], 0, 1)) + x[2]; },
              {random_tensor({2, 3, 4}, 1), random_tensor({5, 4}, 2), random_tensor({5}, 3)});
  check_fused([](const Inputs& x) { return linear(x[0], x[1], Variable()); },
              [](const Inputs& x) { return composite_matmul(x[0], transpose(x[1], 0, 1)); },
              {random_tensor({3, 4}, 4), random_tensor({2, 4}, 5)});
}

BOOST_AUTO_TEST_CASE(softmax_and_log_softmax_equal_their_definitions) {
  for (const Shape& shape : {Shape{3, 5}, Shape{2, 3, 4}, Shape{4, 1}}) {
    check_fused([](const Inputs& x) { return softmax(x[0]); }, [](const Inputs& x) { return composite_softmax(x[0]); },
                {random_tensor(shape, 1, 3.0)});
    check_fused([](const Inputs& x) { return log_softmax(x[0]); },
                [](const Inputs& x) { return composite_log_softmax(x[0]); }, {random_tensor(shape, 2, 3.0)});
  }
}

BOOST_AUTO_TEST_CASE(cross_entropy_equals_the_mean_of_gathered_log_probabilities) {
  const std::vector<std::int64_t> targets = {2, 0, -100, 3, 1, 2};
  struct Case {
    double smoothing;
    std::int64_t ignore_index;
    sf::Reduction reduction;
  };
  for (const Case& entry : {Case{0.0, -100, sf::Reduction::Mean}, Case{0.1, -100, sf::Reduction::Mean},
                            Case{0.2, -100, sf::Reduction::Sum}, Case{0.3, -100, sf::Reduction::None}}) {
    const sf::CrossEntropyOptions options{entry.smoothing, entry.ignore_index, entry.reduction};
    BOOST_TEST_CONTEXT("smoothing " << entry.smoothing << ", reduction " << static_cast<int>(entry.reduction)) {
      check_fused([&](const Inputs& x) { return cross_entropy(x[0], targets, options); },
                  [&](const Inputs& x) { return composite_cross_entropy(x[0], targets, options); },
                  {random_tensor({6, 4}, 3, 2.0)});
    }
  }
  // A class index as ignore_index: rows with target 2 are skipped.
  const std::vector<std::int64_t> with_class_ignored = {2, 0, 1, 3, 1, 2};
  const sf::CrossEntropyOptions ignore_two{0.1, 2, sf::Reduction::Mean};
  check_fused([&](const Inputs& x) { return cross_entropy(x[0], with_class_ignored, ignore_two); },
              [&](const Inputs& x) { return composite_cross_entropy(x[0], with_class_ignored, ignore_two); },
              {random_tensor({6, 4}, 4, 2.0)});
}

BOOST_AUTO_TEST_CASE(layer_norm_equals_the_mean_and_variance_composite) {
  check_fused([](const Inputs& x) { return layer_norm(x[0], x[1], x[2], 1e-5); },
              [](const Inputs& x) { return composite_layer_norm(x[0], x[1], x[2], 1e-5); },
              {random_tensor({2, 3, 6}, 1, 2.0), random_tensor({6}, 2), random_tensor({6}, 3)}, 1e-11);
  check_fused([](const Inputs& x) { return layer_norm(x[0], Variable(), Variable(), 1e-3); },
              [](const Inputs& x) { return composite_layer_norm(x[0], Variable(), Variable(), 1e-3); },
              {random_tensor({4, 5}, 4)}, 1e-11);
}

BOOST_AUTO_TEST_CASE(activations_equal_their_formulas) {
  const Tensor values = random_tensor({4, 6}, 7, 2.0);
  check_fused([](const Inputs& x) { return gelu(x[0], sf::GeluApproximation::Tanh); },
              [](const Inputs& x) { return composite_gelu_tanh(x[0]); }, {values});
  check_fused([](const Inputs& x) { return sigmoid(x[0]); },
              [](const Inputs& x) { return Variable(Tensor::scalar(1.0, DType::Float64)) / (exp(-x[0]) + 1.0); },
              {values});
  check_fused([](const Inputs& x) { return tanh(x[0]); },
              [](const Inputs& x) {
                const Variable e = exp(x[0] * 2.0);
                return (e + -1.0) / (e + 1.0);
              },
              {values});
  // relu: no input sits on the kink at 0 (a normal draw).
  check_fused([](const Inputs& x) { return relu(x[0]); },
              [](const Inputs& x) { return maximum(x[0], Variable(Tensor::scalar(0.0, DType::Float64))); }, {values});
}

BOOST_AUTO_TEST_CASE(gelu_erf_is_close_to_the_tanh_form_and_has_the_right_derivative) {
  std::vector<double> grid;
  for (int index = 0; index <= 240; ++index) grid.push_back(-6.0 + 0.05 * index);
  const Shape shape{static_cast<std::int64_t>(grid.size())};
  const Variable x(constant(grid, shape), true);
  const Variable exact = gelu(x, sf::GeluApproximation::Erf);
  const Tensor approximate = gelu(Variable(constant(grid, shape)), sf::GeluApproximation::Tanh).data();
  check_close(exact.data(), approximate, 1e-3, "gelu erf vs tanh form");
  exact.backward(Tensor::ones(shape, DType::Float64));
  const std::vector<double> gradient = x.grad().to_vector();
  const double step = 1e-6;
  for (std::size_t index = 0; index < grid.size(); ++index) {
    const double value = grid[index];
    // GELU(x) = x Φ(x): GELU'(x) = Φ(x) + x φ(x)
    const double cdf = 0.5 * (1.0 + std::erf(value / std::numbers::sqrt2));
    const double pdf = std::exp(-0.5 * value * value) / std::sqrt(2.0 * std::numbers::pi);
    BOOST_TEST_INFO("x = " << value);
    BOOST_TEST(std::abs(gradient[index] - (cdf + value * pdf)) < 1e-12);
    const double plus = gelu(Variable(constant({value + step}, {1})), sf::GeluApproximation::Erf).item();
    const double minus = gelu(Variable(constant({value - step}, {1})), sf::GeluApproximation::Erf).item();
    BOOST_TEST(std::abs(gradient[index] - (plus - minus) / (2.0 * step)) < 1e-8);
  }
}

BOOST_AUTO_TEST_CASE(dropout_equals_multiplying_by_the_seeded_mask) {
  const double probability = 0.3;
  Generator fused_generator(5), mask_generator(5);
  const Tensor mask = dropout_mask_by_hand({4, 50}, mask_generator, probability);
  check_fused([&](const Inputs& x) { return dropout(x[0], probability, true, fused_generator); },
              [&](const Inputs& x) { return x[0] * Variable(mask); }, {random_tensor({4, 50}, 1)});
  BOOST_TEST(fused_generator.offset == mask_generator.offset);
  const std::vector<double> mask_values = mask.to_vector();
  const auto zeros = std::count(mask_values.begin(), mask_values.end(), 0.0);
  BOOST_TEST(zeros > 30);  // about 60 of 200
  BOOST_TEST(zeros < 90);
  // Evaluation mode is the identity and draws nothing.
  check_fused([&](const Inputs& x) { return dropout(x[0], probability, false, fused_generator); },
              [](const Inputs& x) { return x[0] * 1.0; }, {random_tensor({3, 3}, 2)});
  BOOST_TEST(fused_generator.offset == mask_generator.offset);
}

BOOST_AUTO_TEST_CASE(embedding_equals_index_select) {
  const std::vector<std::int64_t> ids = {1, 4, 4, 0, 5, 2};
  check_fused(
      [&](const Inputs& x) {
        return embedding(x[0], ids, {2, 3});
      },
      [&](const Inputs& x) {
        return reshape(index_select(x[0], 0, ids), {2, 3, 3});
      },
      {random_tensor({6, 3}, 1)});
  // padding_index 4: same values; row 4's gradient is cut, as if that row were a constant.
  const Tensor keep = constant({1, 1, 1, 1, 0, 1}, {6, 1});
  check_fused(
      [&](const Inputs& x) {
        return embedding(x[0], ids, {2, 3}, 4);
      },
      [&](const Inputs& x) {
        const Variable cut = x[0] * Variable(keep) + x[0].detach() * Variable(blocked_of(keep));
        return reshape(index_select(cut, 0, ids), {2, 3, 3});
      },
      {random_tensor({6, 3}, 2)});
}

BOOST_AUTO_TEST_CASE(gumbel_softmax_equals_softmax_of_noisy_logits) {
  // The noise of ops/dropout.cpp: u ~ U(0, 1) clamped to [1e-10, 1 − 1e-7], γ = −log(−log u).
  auto gumbel_noise = [](const Shape& shape, std::uint64_t seed) {
    Generator generator(seed);
    Tensor noise = sf::compute::clamp(uniform(shape, generator, 0.0, 1.0, DType::Float64), 1e-10, 1.0 - 1e-7);
    double* values = noise.data<double>();
    for (std::int64_t index = 0; index < noise.numel(); ++index) values[index] = -std::log(-std::log(values[index]));
    return noise;
  };
  for (const Shape& shape : {Shape{4, 5}, Shape{2, 3, 4}}) {
    const double temperature = 0.7;
    const Tensor noise = gumbel_noise(shape, 11);
    const Function soft_composite = [&](const Inputs& x) {
      return composite_softmax((x[0] + Variable(noise)) * (1.0 / temperature));
    };
    check_fused(
        [&](const Inputs& x) {
          Generator generator(11);
          return gumbel_softmax(x[0], temperature, false, generator);
        },
        soft_composite, {random_tensor(shape, 3)});

    // hard: the value is the one-hot of the soft argmax, the gradient the soft one's.
    Tensor upstream;
    const Outcome soft = run(soft_composite, {random_tensor(shape, 3)}, Tensor(), &upstream);
    const Outcome hard = run(
        [&](const Inputs& x) {
          Generator generator(11);
          return gumbel_softmax(x[0], temperature, true, generator);
        },
        {random_tensor(shape, 3)}, upstream, nullptr);
    const std::vector<std::int64_t> winners = sf::compute::argmax(soft.output, -1);
    const std::int64_t classes = shape.back();
    const std::vector<double> one_hot = hard.output.to_vector();
    for (std::size_t row = 0; row < winners.size(); ++row)
      for (std::int64_t column = 0; column < classes; ++column)
        BOOST_TEST(one_hot[row * classes + column] == (column == winners[row] ? 1.0 : 0.0));
    check_close(hard.gradients[0], soft.gradients[0], 1e-12, "straight-through gradient");
  }
}

BOOST_AUTO_TEST_CASE(scaled_dot_product_attention_equals_matmul_softmax_masked_fill) {
  const std::vector<Tensor> values = {random_tensor({2, 2, 4, 3}, 1), random_tensor({2, 2, 5, 3}, 2),
                                      random_tensor({2, 2, 5, 2}, 3)};
  const double scale = 1.0 / std::sqrt(3.0);
  auto composite_with = [&](const Tensor& blocked, const Tensor& additive, double score_scale) {
    return [=](const Inputs& x) {
      Variable scores = attention_scores(x[0], x[1], score_scale);
      if (additive.defined()) scores = scores + Variable(additive);
      if (blocked.defined()) scores = masked_fill(scores, blocked, -kInfinity);
      return matmul(softmax(scores), x[2]);
    };
  };
  BOOST_TEST_CONTEXT("full") {
    check_fused([](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); },
                composite_with(Tensor(), Tensor(), scale), values);
  }
  BOOST_TEST_CONTEXT("boolean mask, per batch, with a row that sees no key") {
    Tensor allowed = Tensor::ones({2, 1, 4, 5}, DType::Float64);
    const std::vector<std::array<std::int64_t, 3>> hidden = {{0, 0, 1}, {0, 0, 4}, {0, 2, 0}, {1, 1, 3}};
    for (const auto& [b, i, j] : hidden) allowed.set({b, 0, i, j}, 0.0);
    for (std::int64_t j = 0; j < 5; ++j) allowed.set({1, 0, 3, j}, 0.0);
    check_fused([&](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], allowed, true); },
                composite_with(blocked_of(allowed), Tensor(), scale), values);
  }
  BOOST_TEST_CONTEXT("additive mask with -inf entries and a custom scale") {
    Tensor additive = random_tensor({4, 5}, 4);
    additive.set({1, 2}, -kInfinity);
    additive.set({3, 0}, -kInfinity);
    sf::AttentionOptions options;
    options.scale = 0.5;
    check_fused(
        [&](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], additive, false, options); },
        composite_with(Tensor(), additive, 0.5), values);
  }
  BOOST_TEST_CONTEXT("window band") {
    sf::AttentionOptions options;
    options.window = 1;
    check_fused(
        [&](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], Tensor(), true, options); },
        composite_with(blocked_of(band(4, 5, 1)), Tensor(), scale), values);
  }
  BOOST_TEST_CONTEXT("dropout on the weights, same generator stream") {
    sf::AttentionOptions options;
    options.dropout = 0.4;
    options.training = true;
    Generator mask_generator(21);
    const Tensor mask = dropout_mask_by_hand({2, 2, 4, 5}, mask_generator, 0.4);
    check_fused(
        [&](const Inputs& x) {
          Generator generator(21);
          return scaled_dot_product_attention(x[0], x[1], x[2], Tensor(), true, options, &generator);
        },
        [&](const Inputs& x) { return matmul(softmax(attention_scores(x[0], x[1], scale)) * Variable(mask), x[2]); },
        values);
  }
}

BOOST_AUTO_TEST_CASE(local_attention_equals_full_attention_with_a_band_and_bias_mask) {
  constexpr std::int64_t B = 2, H = 2, L = 7, Dh = 3, window = 2, width = 2 * window + 1;
  // Key 1..5 of batch 1 are padding, so query 3 of batch 1 sees no key at all (a zero row).
  const Tensor key_keep = constant({1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1}, {B, L});
  Tensor blocked = Tensor::zeros({B, 1, L, L}, DType::Float64);
  std::vector<std::int64_t> bias_index;  // [H, L, L] → column h·(2w+1) + (j − i + w) of the bias
  for (std::int64_t h = 0; h < H; ++h)
    for (std::int64_t i = 0; i < L; ++i)
      for (std::int64_t j = 0; j < L; ++j)
        bias_index.push_back(h * width + std::clamp<std::int64_t>(j - i + window, 0, width - 1));
  auto mask_for = [&](bool with_padding) {
    Tensor result = blocked.clone();
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t i = 0; i < L; ++i)
        for (std::int64_t j = 0; j < L; ++j)
          if (std::abs(i - j) > window || (with_padding && key_keep.at({b, j}) == 0.0)) result.set({b, 0, i, j}, 1.0);
    return result;
  };
  const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  const std::vector<Tensor> values = {random_tensor({B, H, L, Dh}, 1), random_tensor({B, H, L, Dh}, 2),
                                      random_tensor({B, H, L, Dh}, 3), random_tensor({H, width}, 4)};
  for (const bool with_padding : {false, true}) {
    BOOST_TEST_CONTEXT("with padding " << with_padding) {
      const Tensor keep = with_padding ? key_keep : Tensor();
      const Tensor masked = mask_for(with_padding);
      check_fused(
          [&](const Inputs& x) { return sf::local_attention(x[0], x[1], x[2], window, x[3], keep); },
          [&](const Inputs& x) {
            const Variable bias = reshape(index_select(reshape(x[3], {H * width}), 0, bias_index), {1, H, L, L});
            const Variable scores = masked_fill(attention_scores(x[0], x[1], scale) + bias, masked, -kInfinity);
            return matmul(softmax(scores), x[2]);
          },
          values);
      check_fused([&](const Inputs& x) { return sf::local_attention(x[0], x[1], x[2], window, Variable(), keep); },
                  [&](const Inputs& x) {
                    return matmul(softmax(masked_fill(attention_scores(x[0], x[1], scale), masked, -kInfinity)), x[2]);
                  },
                  {values[0], values[1], values[2]});
    }
  }
  // The saved band of probabilities: column j − i + w of the full softmax.
  Tensor band_probabilities;
  sf::local_attention(Variable(values[0]), Variable(values[1]), Variable(values[2]), window, Variable(values[3]),
                      key_keep, &band_probabilities);
  const Tensor full = sf::compute::softmax(sf::compute::masked_fill(
      sf::compute::add(sf::compute::multiply_scalar(sf::compute::matmul(values[0], values[1], false, true), scale),
                       sf::compute::index_select(values[3].reshape({H * width}), 0, bias_index).reshape({1, H, L, L})),
      mask_for(true), -kInfinity));
  BOOST_REQUIRE((band_probabilities.shape() == Shape{B, H, L, width}));
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t i = 0; i < L; ++i)
        for (std::int64_t offset = 0; offset < width; ++offset) {
          const std::int64_t j = i + offset - window;
          const double expected = (j < 0 || j >= L) ? 0.0 : full.at({b, h, i, j});
          BOOST_TEST(std::abs(band_probabilities.at({b, h, i, offset}) - expected) < 1e-12);
        }
}

BOOST_AUTO_TEST_SUITE_END()
