// The SwarmFormer model: parameter counts and names of the reference, initial loss, overfitting,
// thread-count determinism, and float64 gradient checks of every block and of the whole model
// (both variants, and the enhanced one with each enhancement switched on alone).
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <set>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/grad_mode.hpp"
#include "sf/autograd/gradcheck.hpp"
#include "sf/core/compute.hpp"
#include "sf/core/parallel.hpp"
#include "sf/nn/optimizer.hpp"
#include "sf/swarmformer/model.hpp"
#include "test_util.hpp"

namespace data = boost::unit_test::data;
using sf::SwarmFormer;
using sf::SwarmFormerConfig;
using sf::Variable;

namespace {

SwarmFormerConfig tiny(const std::string& variant) {
  SwarmFormerConfig config;
  config.variant = variant;
  config.vocab_size = 12;
  config.d_model = 8;
  config.seq_len = 8;
  config.cluster_size = 2;
  config.num_layers = 2;
  config.local_steps = 2;
  config.local_window = 2;
  config.local_heads = 2;
  config.cluster_heads = 2;
  config.feedback_hidden = 4;
  config.gumbel_anneal_steps = 10;
  return config;
}

// The enhanced variant with every switch off except `enabled` ("none": all off).
SwarmFormerConfig enhanced_with_only(const std::string& enabled) {
  SwarmFormerConfig config = tiny("enhanced");
  config.local_attention = enabled == "local_attention";
  config.multi_head_cluster_attention = enabled == "multi_head_cluster_attention";
  config.dynamic_routing = enabled == "dynamic_routing";
  config.gated_feedback = enabled == "gated_feedback";
  config.pre_layer_norm = enabled == "pre_layer_norm";
  config.tied_qkv = enabled == "tied_qkv";
  config.pyramid = enabled == "pyramid";
  config.gumbel_softmax = enabled == "gumbel_softmax";
  if (config.gumbel_softmax) config.dynamic_routing = true;  // Gumbel noise acts on the routing
  config.position = config.local_attention ? "relative" : "learned";
  return config;
}

// Ids for a batch of two sequences of 8 tokens, the second padded with zeros at the end.
const std::vector<std::int64_t> kIds{5, 3, 11, 7, 2, 9, 4, 6, 8, 1, 10, 3, 7, 0, 0, 0};

}  // namespace

BOOST_AUTO_TEST_SUITE(swarmformer_model)

BOOST_AUTO_TEST_CASE(parameter_counts_match_the_reference) {
  BOOST_TEST(SwarmFormer(sf::load_config("original-small"), 1).parameter_count() == 4302850);
  BOOST_TEST(SwarmFormer(sf::load_config("original-base"), 1).parameter_count() == 6749186);
  const std::int64_t enhanced_small = SwarmFormer(sf::load_config("enhanced-small"), 1).parameter_count();
  BOOST_TEST_MESSAGE("enhanced-small parameters: " << enhanced_small);
  BOOST_TEST(enhanced_small <= 4302850);
}

BOOST_AUTO_TEST_CASE(original_parameter_names_match_the_reference_state_dict) {
  SwarmFormer model(sf::load_config("original-small"), 1);
  std::set<std::string> names;
  for (const auto& [name, parameter] : model.named_parameters()) names.insert(name);
  std::set<std::string> expected{"embedding.embed.weight", "classifier.weight", "classifier.bias"};
  for (const std::string layer : {"layers.0.", "layers.1."}) {
    for (const std::string suffix : {"weight", "bias"}) {
      for (const std::string index : {"0", "3"}) expected.insert(layer + "local_agg.mlp." + index + "." + suffix);
      for (const std::string index : {"0", "2"}) {
        expected.insert(layer + "local_agg.gate_net." + index + "." + suffix);
        expected.insert(layer + "broadcast.gate_net." + index + "." + suffix);
      }
      for (const std::string projection : {"query", "key", "value"})
        expected.insert(layer + "global_attn." + projection + "." + suffix);
      expected.insert(layer + "broadcast.linear." + suffix);
    }
  }
  BOOST_TEST(names == expected, boost::test_tools::per_element());
  BOOST_TEST(model.named_parameters().front().second.shape() == (sf::Shape{30522, 128}));
}

BOOST_AUTO_TEST_CASE(initial_loss_is_near_ln2, *boost::unit_test::tolerance(0.1)) {
  // The presets at initialization, on 32 random sequences: an untrained binary classifier should
  // be unsure, with a loss near ln 2.
  for (const std::string name : {"original-small", "enhanced-small"}) {
    SwarmFormer model(sf::load_config(name), 3);
    model.eval();
    std::vector<std::int64_t> ids(32 * 256);
    sf::Generator generator(4);
    for (auto& id : ids) id = 1000 + static_cast<std::int64_t>(generator.next_below(29000));
    std::vector<std::int64_t> labels(32);
    for (std::size_t index = 0; index < labels.size(); ++index) labels[index] = static_cast<std::int64_t>(index % 2);
    const Variable loss = sf::cross_entropy(model.forward(ids, 32), labels);
    BOOST_TEST_INFO(name);
    BOOST_TEST(loss.item() == std::log(2.0));
  }
}

BOOST_AUTO_TEST_CASE(overfits_a_batch_of_eight) {
  for (const std::string variant : {"original", "enhanced"}) {
    SwarmFormerConfig config = tiny(variant);
    config.vocab_size = 50;
    config.seq_len = 16;
    config.d_model = 16;
    SwarmFormer model(config, 5);
    sf::Generator generator(9);
    std::vector<std::int64_t> ids(8 * 16);
    for (auto& id : ids) id = 1 + static_cast<std::int64_t>(generator.next_below(49));
    const std::vector<std::int64_t> labels{0, 1, 1, 0, 1, 0, 0, 1};
    sf::nn::AdamW optimizer(sf::nn::single_group(model, 0.0), {.learning_rate = 3e-3});
    double loss_value = 1.0;
    for (int step = 0; step < 200 && loss_value > 0.01; ++step) {
      model.set_training_step(step);
      const Variable loss = sf::cross_entropy(model.forward(ids, 8), labels);
      loss.backward();
      optimizer.step();
      optimizer.zero_grad();
      loss_value = loss.item();
    }
    BOOST_TEST_INFO(variant << " final training loss " << loss_value);
    BOOST_TEST(loss_value < 0.05);
  }
}

BOOST_AUTO_TEST_CASE(logits_and_a_training_step_are_bit_identical_for_one_and_two_threads) {
  for (const std::string name : {"original-small", "enhanced-small"}) {
    std::vector<std::vector<double>> runs;
    for (int threads : {1, 2}) {
      sf::parallel::ThreadCountGuard guard(threads);
      SwarmFormer model(sf::load_config(name), 11);
      std::vector<std::int64_t> ids(4 * 256);
      sf::Generator generator(2);
      for (std::size_t index = 0; index < ids.size(); ++index)
        ids[index] = index % 256 < 200 ? static_cast<std::int64_t>(generator.next_below(30522)) : 0;
      const Variable loss = sf::cross_entropy(model.forward(ids, 4), {1, 0, 1, 1});
      loss.backward();
      std::vector<double> values = {loss.item()};
      for (const auto& [parameter_name, parameter] : model.named_parameters())
        if (parameter_name.find("classifier") != std::string::npos || parameter_name.find("layers.0") != std::string::npos) {
          const std::vector<double> gradient = parameter.grad().to_vector();
          values.insert(values.end(), gradient.begin(), gradient.end());
        }
      runs.push_back(values);
    }
    BOOST_TEST_INFO(name);
    BOOST_TEST(runs[0] == runs[1]);
  }
}

// Inference in sub-batches (SwarmFormer::forward in evaluation mode without a graph) gives the
// bits of the whole batch in one pass: for both presets, float32 and bfloat16 products, sub-batches
// that divide the batch and ones that leave a shorter last one, 1 and 2 threads, with padded
// sequences (one all padding) so the masked pooling is covered too.
BOOST_AUTO_TEST_CASE(inference_in_sub_batches_gives_the_bits_of_the_whole_batch) {
  constexpr std::int64_t batch = 7, length = 256;
  std::vector<std::int64_t> ids(batch * length);
  sf::Generator generator(5);
  for (std::int64_t row = 0; row < batch; ++row)
    for (std::int64_t position = 0; position < length; ++position)
      ids[static_cast<std::size_t>(row * length + position)] =
          position < (row == 3 ? 0 : 256 - 30 * row) ? static_cast<std::int64_t>(generator.next_below(30522)) : 0;
  for (const std::string name : {"original-small", "enhanced-small"}) {
    for (const auto precision : {sf::compute::MatmulPrecision::Float32, sf::compute::MatmulPrecision::Bfloat16}) {
      const sf::compute::MatmulPrecisionGuard arithmetic(precision);
      SwarmFormer model(sf::load_config(name), 3);
      model.eval();
      const sf::NoGradGuard no_grad;
      model.set_inference_sub_batch(0);
      const std::vector<double> whole = model.forward(ids, batch).data().to_vector();
      for (int threads : {1, 2}) {
        const sf::parallel::ThreadCountGuard guard(threads);
        for (std::int64_t sub_batch : {1, 3, 6}) {
          model.set_inference_sub_batch(sub_batch);
          BOOST_TEST_INFO(name << (precision == sf::compute::MatmulPrecision::Float32 ? " float32" : " bfloat16")
                               << ", " << threads << " threads, sub-batches of " << sub_batch);
          BOOST_TEST(model.forward(ids, batch).data().to_vector() == whole);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(explain_reports_assignments_and_cluster_attention) {
  for (const std::string variant : {"original", "enhanced"}) {
    SwarmFormer model(tiny(variant), 4);
    sf::Tensor logits;
    const auto layers = model.explain(kIds, 2, &logits);
    BOOST_TEST(layers.size() == 2u);
    BOOST_TEST((logits.shape() == sf::Shape{2, 2}));
    BOOST_TEST(layers[0].assignments.shape() == (sf::Shape{2, 8, 4}));
    // Assignment rows sum to one.
    const sf::Tensor row_sums = sf::compute::sum(layers[0].assignments, {2});
    for (double value : row_sums.to_vector()) BOOST_TEST(std::abs(value - 1.0) < 1e-5);
    BOOST_TEST(layers[0].cluster_attention.dim() == 4);
    BOOST_TEST(layers[0].cluster_attention.size(-1) == 4);
  }
}

BOOST_AUTO_TEST_CASE(bad_configs_are_rejected_with_clear_messages) {
  using sf::test::check_error_message;
  SwarmFormerConfig config = tiny("enhanced");
  config.cluster_size = 3;
  check_error_message([&] { config.validate(); }, "seq_len 8 is not divisible by cluster_size 3");
  config = tiny("enhanced");
  config.local_heads = 3;
  check_error_message([&] { config.validate(); }, "local_heads 3 does not divide d_model 8");
  config = tiny("enhanced");
  config.num_layers = 4;
  config.pyramid_factor = 2;
  check_error_message([&] { config.validate(); }, "the pyramid falls below one cluster at layer 3");
  config = tiny("enhanced");
  config.local_window = 8;
  check_error_message([&] { config.validate(); }, "local_window 8 must be in [1, seq_len - 1 = 7]");
  check_error_message([] { (void)SwarmFormerConfig::from_json({{"d_modle", 64}}); }, "unknown config key 'd_modle'");
  check_error_message([] { (void)SwarmFormerConfig::from_json({{"d_model", "wide"}}); }, "'d_model' must be an integer");
  SwarmFormer model(tiny("original"), 1);
  check_error_message([&] { (void)model.forward({1, 2, 3}, 1); }, "3 token ids do not form a batch of 1 sequences of seq_len 8");
  std::vector<std::int64_t> bad = kIds;
  bad[3] = 99;
  check_error_message([&] { (void)model.forward(bad, 2); }, "99");
}

const std::vector<std::string> kVariants{"original", "enhanced",        "none",          "local_attention",
                                         "multi_head_cluster_attention", "dynamic_routing", "gated_feedback",
                                         "pre_layer_norm", "tied_qkv",      "pyramid",       "gumbel_softmax"};

// Whole model, float64, in training mode (dropout and Gumbel noise on, the noise stream reset
// before each evaluation so the function is deterministic), gradients of all parameters.
BOOST_DATA_TEST_CASE(whole_model_gradcheck, data::make(kVariants), variant) {
  SwarmFormerConfig config = variant == "original" ? tiny("original")
                             : variant == "enhanced" ? tiny("enhanced")
                                                     : enhanced_with_only(variant);
  config.validate();
  SwarmFormer model(config, 21);
  model.to(sf::DType::Float64);
  model.train();
  model.set_training_step(3);
  std::vector<Variable> parameters = model.parameters();
  const sf::GradcheckResult result = sf::gradcheck_parameters(
      [&] {
        model.noise_generator() = sf::Generator(77, 0);
        return model.forward(kIds, 2);
      },
      parameters);
  BOOST_TEST_INFO(variant << ": " << result.summary());
  BOOST_TEST(result.passed);
  BOOST_TEST(result.checked > 100);
}

BOOST_AUTO_TEST_SUITE_END()
