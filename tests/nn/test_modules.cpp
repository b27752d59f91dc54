// Module (registration, dotted names, modes, to_string, apply, to) and each layer's forward:
// shapes and values against hand computation, and multi-head attention against a composite
// built from sf:: primitives (matmul, masked_fill, softmax).
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

#include "sf/autograd/functional.hpp"
#include "sf/nn/attention.hpp"
#include "sf/nn/layers.hpp"
#include "test_util.hpp"

using sf::DType;
using sf::Generator;
using sf::Shape;
using sf::Tensor;
using sf::Variable;
using sf::test::check_error_message;
namespace nn = sf::nn;

namespace {

// A model with its own parameter, a child layer and a nested Sequential, registered in a
// deliberately non-alphabetical order.
class TwoLevelModel : public nn::Module {
 public:
  explicit TwoLevelModel(Generator& generator) {
    register_parameter("scale", Tensor::ones({3}));
    first = register_module("first", std::make_shared<nn::Linear>(nn::LinearOptions{3, 4}, generator));
    second = register_module("second", std::make_shared<nn::Sequential>());
    second->append(std::make_shared<nn::Linear>(nn::LinearOptions{4, 2, false}, generator));
    second->append(std::make_shared<nn::LayerNorm>(nn::LayerNormOptions{2}));
    register_parameter("frozen", Tensor::zeros({2, 2}), false);
  }
  std::string describe() const override { return "TwoLevelModel"; }
  std::shared_ptr<nn::Linear> first;
  std::shared_ptr<nn::Sequential> second;
};

std::vector<std::string> names_of(const nn::Module& module) {
  std::vector<std::string> names;
  for (const auto& [name, parameter] : module.named_parameters()) names.push_back(name);
  return names;
}

void check_close(const Tensor& actual, const std::vector<double>& expected, double tolerance) {
  BOOST_REQUIRE_EQUAL(actual.numel(), static_cast<std::int64_t>(expected.size()));
  const std::vector<double> values = actual.to_vector();
  for (std::size_t index = 0; index < expected.size(); ++index) {
    BOOST_TEST_INFO("element " << index);
    BOOST_TEST(std::abs(values[index] - expected[index]) <= tolerance);
  }
}

void check_close(const Tensor& actual, const Tensor& expected, double tolerance) {
  BOOST_REQUIRE((actual.shape() == expected.shape()));
  check_close(actual, expected.to_vector(), tolerance);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(modules)

BOOST_AUTO_TEST_CASE(named_parameters_are_dotted_and_in_registration_order) {
  Generator generator(1);
  TwoLevelModel model(generator);
  const std::vector<std::string> expected = {"scale",           "frozen",          "first.weight", "first.bias",
                                             "second.0.weight", "second.1.weight", "second.1.bias"};
  BOOST_TEST(names_of(model) == expected, boost::test_tools::per_element());
  BOOST_TEST(model.parameters().size() == expected.size());
  BOOST_TEST(model.named_parameters()[2].second.same_as(model.first->weight));  // shared, not copied
  BOOST_TEST(model.named_children().size() == 2u);
  BOOST_TEST(model.named_children()[1].first == "second");
  // 3 + 4 + 12 + 4 + 8 + 2 + 2
  BOOST_TEST(model.parameter_count() == 35);
  BOOST_TEST(!model.named_parameters()[1].second.requires_grad());
}

BOOST_AUTO_TEST_CASE(registration_rejects_bad_names) {
  Generator generator(1);
  TwoLevelModel model(generator);
  check_error_message([&] { model.register_parameter("scale", Tensor::ones({1})); },
                      "register_parameter: 'scale' is already registered in TwoLevelModel");
  check_error_message([&] { model.register_parameter("a.b", Tensor::ones({1})); }, "invalid name 'a.b'");
  check_error_message([&] { model.register_module("first", std::make_shared<nn::Sequential>()); },
                      "register_module: 'first' is already registered");
  check_error_message([&] { model.register_module("none", std::shared_ptr<nn::Sequential>()); },
                      "register_module: module 'none' is null");
}

BOOST_AUTO_TEST_CASE(train_and_eval_reach_every_descendant) {
  Generator generator(2);
  auto dropout_generator = std::make_shared<Generator>(9);
  nn::MLP mlp({4, 8, 4, nn::Activation::Relu, 0.5}, generator, dropout_generator);
  int modules = 0;
  mlp.apply([&](nn::Module& module) { modules += module.is_training() ? 1 : 0; });
  BOOST_TEST(modules == 5);  // the MLP and its four children start in training mode
  mlp.eval();
  mlp.apply([&](nn::Module& module) { BOOST_TEST(!module.is_training()); });
  mlp.train();
  mlp.apply([&](nn::Module& module) { BOOST_TEST(module.is_training()); });

  // Dropout: the identity in evaluation (no draw), random zeros in training.
  nn::Dropout& dropout = dynamic_cast<nn::Dropout&>(mlp[2]);
  const Variable x(Tensor::full({1000}, 2.0));
  mlp.eval();
  const std::uint64_t offset = dropout_generator->offset;
  BOOST_TEST(dropout(x).data().to_vector() == x.data().to_vector(), boost::test_tools::per_element());
  BOOST_TEST(dropout_generator->offset == offset);
  mlp.train();
  const std::vector<double> dropped = dropout(x).data().to_vector();
  BOOST_TEST(dropout_generator->offset == offset + 1000 / 4);  // one Philox block per four elements
  int zeros = 0;
  for (double value : dropped) {
    BOOST_TEST((value == 0.0 || value == 4.0));  // kept values are scaled by 1 / (1 - p)
    zeros += value == 0.0 ? 1 : 0;
  }
  BOOST_TEST(zeros > 400);
  BOOST_TEST(zeros < 600);
}

BOOST_AUTO_TEST_CASE(zero_grad_clears_every_gradient) {
  Generator generator(3);
  TwoLevelModel model(generator);
  const Variable x(normal({5, 3}, generator));
  sum(model.second->forward(model.first->forward(x))).backward();
  BOOST_TEST(model.first->weight.grad().defined());
  BOOST_TEST(model.named_parameters()[4].second.grad().defined());  // second.0.weight
  model.zero_grad();
  for (const auto& [name, parameter] : model.named_parameters()) {
    BOOST_TEST_INFO(name);
    BOOST_TEST(!parameter.grad().defined());
  }
}

BOOST_AUTO_TEST_CASE(to_string_shows_the_tree_with_shapes_and_counts) {
  Generator generator(4);
  TwoLevelModel model(generator);
  const std::string text = model.to_string();
  BOOST_TEST_INFO(text);
  for (const char* expected :
       {"TwoLevelModel  [35 parameters]", "  scale float32 [3]", "  frozen float32 [2, 2]",
        "  (first): Linear(in_features=3, out_features=4, bias=true)  [16 parameters]", "    weight float32 [4, 3]",
        "  (second): Sequential  [12 parameters]",
        "    (0): Linear(in_features=4, out_features=2, bias=false)  [8 parameters]",
        "    (1): LayerNorm(2, eps=1e-05, elementwise_affine=true)  [4 parameters]", "      bias float32 [2]"}) {
    BOOST_TEST_INFO(expected);
    BOOST_TEST(text.find(expected) != std::string::npos);
  }
  // Children print after their parent's own parameters, deeper ones further indented.
  BOOST_TEST(text.find("(first)") < text.find("(second)"));
  BOOST_TEST(text.find("(second)") < text.find("(0)"));
}

BOOST_AUTO_TEST_CASE(apply_visits_parents_first) {
  Generator generator(5);
  TwoLevelModel model(generator);
  std::vector<std::string> visited;
  model.apply([&](nn::Module& module) { visited.push_back(module.describe().substr(0, 9)); });
  const std::vector<std::string> expected = {"TwoLevelM", "Linear(in", "Sequentia", "Linear(in", "LayerNorm"};
  BOOST_TEST(visited == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(to_converts_every_parameter_and_keeps_values) {
  Generator generator(6);
  TwoLevelModel model(generator);
  const std::vector<double> before = model.first->weight.data().to_vector();
  sum(model.first->forward(Variable(Tensor::ones({1, 3})))).backward();
  model.to(DType::Float64);
  for (const auto& [name, parameter] : model.named_parameters()) {
    BOOST_TEST_INFO(name);
    BOOST_TEST((parameter.dtype() == DType::Float64));
    BOOST_TEST(!parameter.grad().defined());
  }
  BOOST_TEST(model.first->weight.data().to_vector() == before, boost::test_tools::per_element());
  // The layers' own handles see the converted tensors: a float64 forward works.
  const Variable output = model.first->forward(Variable(Tensor::ones({1, 3}, DType::Float64)));
  BOOST_TEST((output.dtype() == DType::Float64));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(layers)

BOOST_AUTO_TEST_CASE(linear_matches_hand_computation) {
  Generator generator(7);
  nn::Linear layer({3, 2}, generator);
  layer.weight.data().copy_from(Tensor::from_vector(std::vector<float>{1, 2, 3, -1, 0, 1}, {2, 3}));
  layer.bias.data().copy_from(Tensor::from_vector(std::vector<float>{0.5f, -0.5f}, {2}));
  // y = x Wᵀ + b: [1, 1, 1] -> [6.5, -0.5]; [2, 0, -1] -> [-0.5, -3.5]
  const Variable y = layer(Variable(Tensor::from_vector(std::vector<float>{1, 1, 1, 2, 0, -1}, {2, 3})));
  BOOST_TEST((y.shape() == Shape{2, 2}));
  check_close(y.data(), {6.5, -0.5, -0.5, -3.5}, 1e-6);
  // Leading dimensions pass through: [2, 1, 3] -> [2, 1, 2].
  const Variable y3 = layer(Variable(Tensor::from_vector(std::vector<float>{1, 1, 1, 2, 0, -1}, {2, 1, 3})));
  BOOST_TEST((y3.shape() == Shape{2, 1, 2}));
  check_close(y3.data(), {6.5, -0.5, -0.5, -3.5}, 1e-6);

  nn::Linear no_bias({3, 2, false}, generator);
  BOOST_TEST(!no_bias.bias.defined());
  BOOST_TEST(names_of(no_bias) == std::vector<std::string>{"weight"}, boost::test_tools::per_element());
  check_error_message(
      [&] {
        layer(Variable(Tensor::ones({2, 5})));
      },
      "linear: input [2, 5] does not match weight [2, 3] (expected [..., 3])");
  check_error_message([&] { nn::Linear({0, 2}, generator); }, "Linear: in_features and out_features must be positive");
}

BOOST_AUTO_TEST_CASE(embedding_looks_up_rows_and_keeps_the_padding_row) {
  Generator generator(8);
  nn::Embedding table({5, 3, 1}, generator);
  BOOST_TEST(table.describe() == "Embedding(5, 3, padding_index=1)");
  BOOST_TEST(table.weight.data().select(0, 1).to_vector() == std::vector<double>(3, 0.0),
             boost::test_tools::per_element());
  const std::vector<std::int64_t> ids = {4, 1, 0, 4, 2, 1};
  const Variable output = table.forward(ids, {2, 3});
  BOOST_TEST((output.shape() == Shape{2, 3, 3}));
  for (std::size_t position = 0; position < ids.size(); ++position)
    for (std::int64_t column = 0; column < 3; ++column)
      BOOST_TEST(output.data().at({static_cast<std::int64_t>(position) / 3, static_cast<std::int64_t>(position) % 3,
                                   column}) == table.weight.data().at({ids[position], column}));
  // Gradient: row v gets one g per occurrence; the padding row gets none.
  sum(output * 2.0).backward();
  check_close(table.weight.grad(), {2, 2, 2, 0, 0, 0, 2, 2, 2, 0, 0, 0, 4, 4, 4}, 0.0);
  check_error_message([&] { table.forward({7}, {1}); },
                      "embedding: id 7 at position 0 is out of range for a vocabulary of 5 rows");
  check_error_message(
      [&] {
        nn::Embedding({5, 3, 5}, generator);
      },
      "Embedding: padding_index 5 out of range for vocabulary 5");
}

BOOST_AUTO_TEST_CASE(layer_norm_matches_hand_computation) {
  nn::LayerNorm norm({4, 1e-5});
  norm.weight.data().copy_from(Tensor::from_vector(std::vector<float>{1, 2, 1, 0.5f}, {4}));
  norm.bias.data().copy_from(Tensor::from_vector(std::vector<float>{0, 0, 1, 0}, {4}));
  // Row [1, 2, 3, 6]: mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5.
  const Variable y = norm(Variable(Tensor::from_vector(std::vector<float>{1, 2, 3, 6, 5, 5, 5, 5}, {2, 4})));
  const double inverse_std = 1.0 / std::sqrt(3.5 + 1e-5);
  check_close(y.data(), {-2 * inverse_std, -2 * inverse_std, 1.0, 1.5 * inverse_std, 0, 0, 1, 0}, 1e-6);
  nn::LayerNorm plain({4, 1e-5, false});
  BOOST_TEST(plain.parameter_count() == 0);
  check_error_message(
      [&] {
        norm(Variable(Tensor::ones({2, 5})));
      },
      "LayerNorm: input [2, 5] does not end in dimension 4");
}

BOOST_AUTO_TEST_CASE(dropout_rejects_bad_probabilities) {
  auto generator = std::make_shared<Generator>(1);
  check_error_message([&] { nn::Dropout(1.0, generator); }, "Dropout: probability must be in [0, 1), got 1");
  check_error_message([&] { nn::Dropout(0.1, nullptr); }, "Dropout: a generator is required");
}

BOOST_AUTO_TEST_CASE(sequential_and_mlp_compose_their_children) {
  Generator generator(9);
  auto dropout_generator = std::make_shared<Generator>(10);
  nn::MLP mlp({3, 5, 2, nn::Activation::GeluTanh, 0.0}, generator, dropout_generator);
  const std::vector<std::string> expected = {"0.weight", "0.bias", "3.weight", "3.bias"};
  BOOST_TEST(names_of(mlp) == expected, boost::test_tools::per_element());
  std::vector<std::string> children;
  for (const auto& [name, child] : mlp.named_children()) children.push_back(name);
  BOOST_TEST(children == (std::vector<std::string>{"0", "1", "2", "3"}), boost::test_tools::per_element());
  BOOST_TEST(mlp.parameter_count() == 3 * 5 + 5 + 5 * 2 + 2);

  const Variable x(normal({4, 3}, generator));
  auto& first = dynamic_cast<nn::Linear&>(mlp[0]);
  auto& last = dynamic_cast<nn::Linear&>(mlp[3]);
  const Variable expected_output =
      linear(gelu(linear(x, first.weight, first.bias), sf::GeluApproximation::Tanh), last.weight, last.bias);
  const Variable output = mlp(x);
  BOOST_TEST((output.shape() == Shape{4, 2}));
  check_close(output.data(), expected_output.data(), 1e-6);

  nn::Sequential sequence;
  sequence.append(std::make_shared<nn::ActivationLayer>(nn::Activation::Relu))
      .append(std::make_shared<nn::ActivationLayer>(nn::Activation::Tanh));
  BOOST_TEST(sequence.size() == 2u);
  check_close(sequence(Variable(Tensor::from_vector(std::vector<float>{-1, 0.5f}, {2}))).data(), {0.0, std::tanh(0.5)},
              1e-6);
  check_error_message([] { nn::activation_from_name("swish"); }, "unknown activation 'swish'");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- multi-head attention against a composite of primitives -------------------------------------

namespace {

Variable split_heads(const Variable& projected, std::int64_t heads) {
  const std::int64_t batch = projected.size(0), length = projected.size(1), dimension = projected.size(2);
  return permute(reshape(projected, {batch, length, heads, dimension / heads}), {0, 2, 1, 3});
}

nn::Linear* child_linear(const nn::Module& module, const std::string& name) {
  for (const auto& [child_name, child] : module.named_children())
    if (child_name == name) return dynamic_cast<nn::Linear*>(child.get());
  return nullptr;
}

// softmax(Q Kᵀ/√Dh with blocked scores at -inf) V, heads merged, output projection.
Variable composite_attention(const nn::MultiHeadAttention& attention, const Variable& x, const Tensor& key_keep) {
  const auto& options = attention.options;
  const std::int64_t batch = x.size(0), length = x.size(1), heads = options.heads;
  auto project = [&](const char* name) {
    const nn::Linear* layer = child_linear(attention, options.tied_qkv ? "qkv" : name);
    return split_heads(linear(x, layer->weight, layer->bias), heads);
  };
  const Variable query = project("query"), key = project("key"), value = project("value");
  Variable scores = matmul(query, key, false, true) * (1.0 / std::sqrt(static_cast<double>(options.dimension / heads)));
  Tensor blocked = Tensor::zeros({batch, 1, length, length}, x.dtype());
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < length; ++i)
      for (std::int64_t j = 0; j < length; ++j) {
        const bool outside_band = options.window >= 0 && std::abs(i - j) > options.window;
        const bool padding = key_keep.defined() && key_keep.at({b, j}) == 0.0;
        if (outside_band || padding) blocked.set({b, 0, i, j}, 1.0);
      }
  scores = masked_fill(scores, blocked, -std::numeric_limits<double>::infinity());
  const Variable heads_output = matmul(softmax(scores), value);
  const Variable merged = reshape(permute(heads_output, {0, 2, 1, 3}), {batch, length, options.dimension});
  const nn::Linear* output = child_linear(attention, "output");
  return output ? linear(merged, output->weight, output->bias) : merged;
}

void check_attention_against_composite(const nn::MultiHeadAttentionOptions& options, const Tensor& key_keep) {
  Generator generator(11);
  nn::MultiHeadAttention attention(options, generator, std::make_shared<Generator>(12));
  attention.to(DType::Float64);
  const Tensor input = normal({2, 6, options.dimension}, generator, 0.0, 1.0, DType::Float64);
  const Tensor upstream = normal({2, 6, options.dimension}, generator, 0.0, 1.0, DType::Float64);

  const Variable x_fused(input.clone(), true);
  const Variable fused = attention.forward(x_fused, key_keep);
  BOOST_TEST((fused.shape() == input.shape()));
  fused.backward(upstream);
  std::vector<Tensor> fused_gradients{x_fused.grad()};
  for (const auto& [name, parameter] : attention.named_parameters()) fused_gradients.push_back(parameter.grad());
  attention.zero_grad();

  const Variable x_composite(input.clone(), true);
  const Variable composite = composite_attention(attention, x_composite, key_keep);
  composite.backward(upstream);
  std::vector<Tensor> composite_gradients{x_composite.grad()};
  for (const auto& [name, parameter] : attention.named_parameters()) composite_gradients.push_back(parameter.grad());

  check_close(fused.data(), composite.data(), 1e-12);
  for (std::size_t index = 0; index < fused_gradients.size(); ++index) {
    BOOST_TEST_INFO("gradient " << index);
    check_close(fused_gradients[index], composite_gradients[index], 1e-11);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(multi_head_attention)

BOOST_AUTO_TEST_CASE(full_attention_matches_the_composite) { check_attention_against_composite({8, 2}, Tensor()); }

BOOST_AUTO_TEST_CASE(windowed_attention_matches_the_composite) {
  nn::MultiHeadAttentionOptions options{8, 2};
  options.window = 1;
  check_attention_against_composite(options, Tensor());
}

BOOST_AUTO_TEST_CASE(tied_projection_without_output_matches_the_composite) {
  nn::MultiHeadAttentionOptions options{8, 4};
  options.tied_qkv = true;
  options.output_projection = false;
  Generator generator(13);
  nn::MultiHeadAttention attention(options, generator, std::make_shared<Generator>(1));
  BOOST_TEST(names_of(attention) == (std::vector<std::string>{"qkv.weight", "qkv.bias"}),
             boost::test_tools::per_element());
  check_attention_against_composite(options, Tensor());
}

BOOST_AUTO_TEST_CASE(key_padding_mask_matches_the_composite_and_hides_padding) {
  const Tensor key_keep = Tensor::from_vector(std::vector<double>{1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0}, {2, 6});
  nn::MultiHeadAttentionOptions options{8, 2};
  check_attention_against_composite(options, key_keep);
  options.window = 2;
  check_attention_against_composite(options, key_keep);

  Generator generator(14);
  nn::MultiHeadAttention attention(options, generator, std::make_shared<Generator>(1));
  const std::vector<std::string> expected = {"query.weight", "query.bias", "key.weight",    "key.bias",
                                             "value.weight", "value.bias", "output.weight", "output.bias"};
  BOOST_TEST(names_of(attention) == expected, boost::test_tools::per_element());
  const Tensor weights = attention.attention_weights(Variable(normal({2, 6, 8}, generator)), key_keep);
  BOOST_TEST((weights.shape() == Shape{2, 2, 6, 6}));
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t h = 0; h < 2; ++h)
      for (std::int64_t i = 0; i < 6; ++i) {
        double total = 0.0;
        for (std::int64_t j = 0; j < 6; ++j) {
          const double weight = weights.at({b, h, i, j});
          if (key_keep.at({b, j}) == 0.0 || std::abs(i - j) > 2) BOOST_TEST(weight == 0.0);
          total += weight;
        }
        BOOST_TEST(std::abs(total - 1.0) < 1e-6);
      }
}

BOOST_AUTO_TEST_CASE(attention_dropout_draws_only_in_training) {
  nn::MultiHeadAttentionOptions options{8, 2};
  options.dropout = 0.5;
  Generator generator(15);
  auto dropout_generator = std::make_shared<Generator>(16);
  nn::MultiHeadAttention attention(options, generator, dropout_generator);
  const Variable x(normal({2, 6, 8}, generator));
  const Tensor training_output = attention.forward(x).data();
  BOOST_TEST(dropout_generator->offset == 2u * 2u * 6u * 6u / 4u);  // one block per four attention weights
  attention.eval();
  const Tensor first = attention.forward(x).data(), second = attention.forward(x).data();
  BOOST_TEST(dropout_generator->offset == 2u * 2u * 6u * 6u / 4u);
  BOOST_TEST(first.to_vector() == second.to_vector(), boost::test_tools::per_element());
  BOOST_TEST(first.to_vector() != training_output.to_vector());
}

BOOST_AUTO_TEST_CASE(bad_shapes_name_the_problem) {
  Generator generator(17);
  check_error_message(
      [&] {
        nn::MultiHeadAttention({8, 3}, generator, nullptr);
      },
      "MultiHeadAttention: 3 heads do not divide dimension 8");
  nn::MultiHeadAttention attention({8, 2}, generator, std::make_shared<Generator>(1));
  check_error_message(
      [&] {
        attention.forward(Variable(Tensor::ones({2, 8})));
      },
      "MultiHeadAttention: input [2, 8] must be [B, L, 8]");
  check_error_message(
      [&] {
        attention.forward(Variable(Tensor::ones({2, 3, 6})));
      },
      "MultiHeadAttention: input [2, 3, 6] must be [B, L, 8]");
  check_error_message(
      [&] {
        attention.forward(Variable(Tensor::ones({2, 3, 8})), Tensor::ones({6}));
      },
      "MultiHeadAttention: key mask [6] must be [B, L]");
}

BOOST_AUTO_TEST_SUITE_END()
