// Classifier (classifier.hpp): a checkpoint loaded by its stored config classifies texts with the
// checkpoint's class names and probabilities that match the model's own logits; bad ids, a
// checkpoint without a config, a vocabulary of the wrong size and a framing override that would
// touch the weights are refused with clear errors; `precision` rounds the products of that
// classifier's calls only.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sf/core/kernels/gemm_bf16.hpp"
#include "sf/core/matmul.hpp"
#include "sf/nn/checkpoint.hpp"
#include "sf/swarmformer/classifier.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTokens{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film",
                                       "a",     "was",   "very",  "dull", "!",     ".",    "great", "plot"};

struct Fixture {
  fs::path directory = fs::temp_directory_path() / ("sf_classifier_test_" + std::to_string(::getpid()));
  std::string checkpoint, vocabulary;
  sf::SwarmFormerConfig config;
  Fixture() {
    fs::create_directories(directory);
    vocabulary = (directory / "vocab.txt").string();
    std::ofstream file(vocabulary);
    for (const std::string& token : kTokens) file << token << '\n';
    config.variant = "enhanced";
    config.vocab_size = static_cast<std::int64_t>(kTokens.size());
    config.d_model = 16;
    config.seq_len = 16;
    config.cluster_size = 4;
    config.local_heads = 2;
    config.cluster_heads = 2;
    config.feedback_hidden = 8;
    config.local_window = 2;
    config.validate("test");
    sf::SwarmFormer model(config, 3);
    checkpoint = (directory / "model.safetensors").string();
    sf::nn::save_checkpoint(checkpoint, model, nullptr,
                            {{"config", {{"model", config.to_json()}}}, {"class_names", {"negative", "positive"}}});
  }
  ~Fixture() { fs::remove_all(directory); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(classifier, Fixture)

BOOST_AUTO_TEST_CASE(predicts_with_the_checkpoint_class_names_and_its_own_logits) {
  sf::Classifier classifier = sf::Classifier::load(checkpoint, {.vocabulary = vocabulary});
  BOOST_TEST(classifier.class_names() == (std::vector<std::string>{"negative", "positive"}));
  const std::vector<sf::Prediction> predictions = classifier.predict({"a very good film !", "dull plot ."});
  BOOST_REQUIRE(predictions.size() == 2u);
  for (const sf::Prediction& prediction : predictions) {
    BOOST_TEST(std::abs(prediction.probabilities[0] + prediction.probabilities[1] - 1.0) < 1e-6);
    BOOST_TEST(prediction.label == classifier.class_names()[static_cast<std::size_t>(prediction.index)]);
    BOOST_TEST(prediction.probability == prediction.probabilities[static_cast<std::size_t>(prediction.index)]);
  }
  // The same text as ids ([CLS] a very good film ! [SEP], padded): softmax of logits() is predict()'s.
  std::vector<std::int64_t> ids{2, 8, 10, 5, 7, 12, 3};
  ids.resize(static_cast<std::size_t>(config.seq_len), 0);
  const std::vector<double> logits = classifier.logits(ids, 1).to_vector();
  const double positive = 1.0 / (1.0 + std::exp(logits[0] - logits[1]));
  BOOST_TEST(std::abs(positive - predictions[0].probabilities[1]) < 1e-6);
}

BOOST_AUTO_TEST_CASE(refuses_bad_input_with_clear_errors) {
  sf::Classifier classifier = sf::Classifier::load(checkpoint, {.vocabulary = vocabulary});
  sf::test::check_error_message([&] { (void)classifier.logits({1, 2, 3}, 1); }, "3 ids for 1 rows of seq_len 16");
  std::vector<std::int64_t> ids(16, 0);
  ids[4] = 99;
  sf::test::check_error_message([&] { (void)classifier.logits(ids, 1); }, "token id 99 outside [0, 16)");
  sf::test::check_error_message(
      [&] { (void)sf::Classifier::load(checkpoint, {.vocabulary = vocabulary, .input_overrides = {"d_model=8"}}); },
      "d_model=8: only the input fields truncation, truncation_head and eval_windows can be changed here");
  // A vocabulary of another size.
  const std::string small = (directory / "small.txt").string();
  std::ofstream(small) << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n";
  sf::Classifier mismatched = sf::Classifier::load(checkpoint, {.vocabulary = small});
  sf::test::check_error_message([&] { (void)mismatched.predict({"good"}); }, "has 4 tokens but the model's vocab_size is 16");
  // A checkpoint without a stored config.
  const std::string bare = (directory / "bare.safetensors").string();
  sf::SwarmFormer model(config, 3);
  sf::nn::save_checkpoint(bare, model, nullptr, nlohmann::json::object());
  sf::test::check_error_message([&] { (void)sf::Classifier::load(bare, {.vocabulary = vocabulary}); },
                                "stores no model config");
}

BOOST_AUTO_TEST_CASE(explain_reports_routing_and_cluster_attention_per_layer) {
  sf::Classifier classifier = sf::Classifier::load(checkpoint, {.vocabulary = vocabulary});
  const nlohmann::json explanation = classifier.explain("a very good film !", 2);
  BOOST_TEST(explanation["pieces"] == (nlohmann::json{"[CLS]", "a", "very", "good", "film", "!", "[SEP]"}));
  BOOST_TEST(explanation["label"] == classifier.predict({"a very good film !"})[0].label);
  BOOST_REQUIRE(explanation["layers"].size() == static_cast<std::size_t>(config.num_layers));
  for (const nlohmann::json& layer : explanation["layers"]) {
    const std::int64_t clusters = layer["clusters"].get<std::int64_t>();
    BOOST_REQUIRE(layer["routing"].size() == 7u);
    for (std::size_t piece = 0; piece < 7; ++piece) {
      const nlohmann::json& top = layer["routing"][piece]["clusters"];
      const nlohmann::json& row = layer["assignments"][piece];
      BOOST_REQUIRE(top.size() == 2u);
      BOOST_TEST(top[0][1].get<double>() >= top[1][1].get<double>());  // ranked by weight
      double total = 0.0, largest = 0.0;
      for (const auto& weight : row) {
        total += weight.get<double>();
        largest = std::max(largest, weight.get<double>());
      }
      BOOST_TEST(row.size() == static_cast<std::size_t>(clusters));
      BOOST_TEST(std::abs(total - 1.0) < 1e-5);                   // a distribution over clusters
      BOOST_TEST(top[0][1].get<double>() == largest);             // the top one is the largest
    }
    for (const nlohmann::json& attention_row : layer["cluster_attention"]) {
      double total = 0.0;
      for (const auto& weight : attention_row) total += weight.get<double>();
      BOOST_TEST(std::abs(total - 1.0) < 1e-5);
    }
  }
  sf::test::check_error_message([&] { (void)classifier.explain("good", 0); }, "top must be at least 1, got 0");
}

BOOST_AUTO_TEST_CASE(framing_overrides_change_how_texts_are_read) {
  sf::Classifier classifier =
      sf::Classifier::load(checkpoint, {.vocabulary = vocabulary, .input_overrides = {"eval_windows=3"}});
  BOOST_TEST(classifier.config().eval_windows == 3);
}

BOOST_AUTO_TEST_CASE(precision_rounds_the_products_of_its_own_calls_only) {
  sf::Classifier exact = sf::Classifier::load(checkpoint, {.vocabulary = vocabulary});
  sf::Classifier rounded = sf::Classifier::load(checkpoint, {.vocabulary = vocabulary, .precision = "bf16"});
  BOOST_TEST(!exact.uses_bfloat16());
  BOOST_TEST(rounded.uses_bfloat16());
  std::vector<std::int64_t> ids{2, 8, 10, 5, 7, 12, 3, 6, 11, 15, 13, 14, 9, 3};
  ids.resize(static_cast<std::size_t>(2 * config.seq_len), 0);
  const std::vector<double> float32 = exact.logits(ids, 2).to_vector();
  const std::vector<double> bfloat16 = rounded.logits(ids, 2).to_vector();
  BOOST_TEST((sf::compute::matmul_precision() == sf::compute::MatmulPrecision::Float32));  // the guard is undone
  double largest_difference = 0.0;
  for (std::size_t index = 0; index < float32.size(); ++index)
    largest_difference = std::max(largest_difference, std::abs(float32[index] - bfloat16[index]));
  BOOST_TEST(largest_difference > 0.0);   // the operands were rounded
  BOOST_TEST(largest_difference < 0.05);  // by bfloat16's 8 bits, not more
  BOOST_TEST(exact.logits(ids, 2).to_vector() == float32);  // and the float32 classifier is untouched
  const sf::Prediction prediction = rounded.predict({"a very good film !"})[0];
  BOOST_TEST(std::abs(prediction.probability - exact.predict({"a very good film !"})[0].probability) < 0.02);
  sf::Classifier automatic = sf::Classifier::load(checkpoint, {.vocabulary = vocabulary, .precision = "auto"});
  BOOST_TEST(automatic.uses_bfloat16() ==
             sf::kernels::bfloat16_path_available(sf::kernels::Bfloat16Path::Avx512Bf16));
  sf::test::check_error_message(
      [&] { (void)sf::Classifier::load(checkpoint, {.vocabulary = vocabulary, .precision = "fp16"}); },
      "precision must be \"fp32\", \"bf16\" or \"auto\", got \"fp16\"");
}

BOOST_AUTO_TEST_SUITE_END()
