// Classifier: a checkpoint as a text classifier (classifier.hpp).
#include "sf/swarmformer/classifier.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "sf/autograd/grad_mode.hpp"
#include "sf/core/matmul.hpp"
#include "sf/nn/checkpoint.hpp"
#include "sf/nn/safetensors.hpp"
#include "sf/swarmformer/dataset.hpp"
#include "sf/swarmformer/evaluation.hpp"
#include "sf/swarmformer/token_cache.hpp"
#include "sf/swarmformer/training_config.hpp"
#include "sf/swarmformer/training_data.hpp"

namespace sf {

namespace {

// load_model with the checkpoint's header already read (Classifier::load keeps its metadata too).
std::unique_ptr<SwarmFormer> load_model_with_header(const std::string& checkpoint, const SafetensorsHeader& header,
                                                    const std::string& preset_or_config,
                                                    const std::vector<std::string>& input_overrides) {
  SwarmFormerConfig config;
  if (!preset_or_config.empty()) {
    config = load_config(preset_or_config);
  } else if (header.metadata.contains("config") && header.metadata["config"].contains("model")) {
    config = SwarmFormerConfig::from_json(header.metadata["config"]["model"], checkpoint + " (stored config)");
  } else {
    fail("{}: the file stores no model config; name the preset or config file of the model it holds", checkpoint);
  }
  for (const std::string& assignment : input_overrides) {
    const std::string key = assignment.substr(0, assignment.find('='));
    if (key != "truncation" && key != "truncation_head" && key != "eval_windows")
      fail("{}: only the input fields truncation, truncation_head and eval_windows can be changed here", assignment);
    config.set(assignment, "--set");
  }
  auto model = std::make_unique<SwarmFormer>(config, 0);
  nn::load_checkpoint(checkpoint, *model, nullptr, /*strict=*/true);
  model->eval();
  return model;
}

}  // namespace

std::unique_ptr<SwarmFormer> load_model(const std::string& checkpoint, const std::string& preset_or_config,
                                        const std::vector<std::string>& input_overrides) {
  return load_model_with_header(checkpoint, read_safetensors_header(checkpoint), preset_or_config, input_overrides);
}

Classifier Classifier::load(const std::string& checkpoint, const ClassifierOptions& options) {
  if (options.batch_size < 1) fail("Classifier {}: batch_size must be at least 1, got {}", checkpoint, options.batch_size);
  if (options.precision != "fp32" && options.precision != "bf16" && options.precision != "auto")
    fail("Classifier {}: precision must be \"fp32\", \"bf16\" or \"auto\", got \"{}\"", checkpoint, options.precision);
  Classifier classifier;
  SafetensorsHeader header = read_safetensors_header(checkpoint);
  classifier.model_ = load_model_with_header(checkpoint, header, options.preset_or_config, options.input_overrides);
  classifier.metadata_ = std::move(header.metadata);
  classifier.checkpoint_ = checkpoint;
  classifier.vocabulary_ = options.vocabulary;
  classifier.batch_size_ = options.batch_size;
  classifier.bfloat16_ = sf::uses_bfloat16(options.precision);
  if (classifier.metadata_.contains("class_names"))
    classifier.class_names_ = classifier.metadata_["class_names"].get<std::vector<std::string>>();
  const auto classes = static_cast<std::size_t>(classifier.config().num_classes);
  if (classifier.class_names_.size() != classes) {
    classifier.class_names_.clear();
    for (std::size_t index = 0; index < classes; ++index) classifier.class_names_.push_back(std::to_string(index));
  }
  return classifier;
}

Tensor Classifier::logits(const std::vector<std::int64_t>& ids, std::int64_t rows) {
  const std::int64_t length = config().seq_len;
  if (rows < 0 || static_cast<std::int64_t>(ids.size()) != rows * length)
    fail("Classifier {}: {} ids for {} rows of seq_len {}", checkpoint_, ids.size(), rows, length);
  for (std::int64_t id : ids)
    if (id < 0 || id >= config().vocab_size)
      fail("Classifier {}: token id {} outside [0, {})", checkpoint_, id, config().vocab_size);
  const NoGradGuard no_grad;
  const compute::MatmulPrecisionGuard arithmetic(product_precision());
  model_->eval();
  return model_->forward(ids, rows).data();
}

const WordPieceTokenizer& Classifier::tokenizer() {
  if (!tokenizer_) {
    std::string path = vocabulary_.empty() ? find_default_vocabulary("") : vocabulary_;
    if (path.empty())
      fail("Classifier {}: no vocabulary given (ClassifierOptions::vocabulary), and neither SF_VOCAB nor SF_DATA_DIR "
           "points to one",
           checkpoint_);
    tokenizer_ = std::make_shared<const WordPieceTokenizer>(WordPieceTokenizer::from_file(path));
    if (tokenizer_->vocabulary_size() != config().vocab_size)
      fail("Classifier {}: the vocabulary {} has {} tokens but the model's vocab_size is {}", checkpoint_, path,
           tokenizer_->vocabulary_size(), config().vocab_size);
  }
  return *tokenizer_;
}

std::vector<Prediction> Classifier::predict(const std::vector<std::string>& texts) {
  const WordPieceTokenizer& pieces = tokenizer();
  TextDataset dataset;
  dataset.texts = texts;
  dataset.labels.assign(texts.size(), 0);
  const TokenizedSplit split =
      tokenize_dataset(dataset, pieces, config().seq_len, input_framing(config(), /*evaluation=*/true));
  const compute::MatmulPrecisionGuard arithmetic(product_precision());
  const std::vector<std::vector<double>> probabilities = predict_probabilities(*model_, split, batch_size_);
  std::vector<Prediction> predictions;
  for (const std::vector<double>& row : probabilities) {
    Prediction prediction;
    prediction.index = std::max_element(row.begin(), row.end()) - row.begin();
    prediction.label = class_names_[static_cast<std::size_t>(prediction.index)];
    prediction.probability = row[static_cast<std::size_t>(prediction.index)];
    prediction.probabilities = row;
    predictions.push_back(std::move(prediction));
  }
  return predictions;
}

nlohmann::json Classifier::explain(const std::string& text, std::int64_t top) {
  if (top < 1) fail("Classifier::explain: top must be at least 1, got {}", top);
  const WordPieceTokenizer& pieces = tokenizer();
  TextDataset dataset;
  dataset.texts = {text};
  dataset.labels = {0};
  Framing framing = input_framing(config(), /*evaluation=*/false);  // one window
  const TokenizedSplit split = tokenize_dataset(dataset, pieces, config().seq_len, framing);
  const std::vector<std::int64_t> ids(split.ids.begin(), split.ids.begin() + config().seq_len);
  Tensor logits;
  const compute::MatmulPrecisionGuard arithmetic(product_precision());
  const std::vector<LayerExplanation> layers = model_->explain(ids, 1, &logits);
  const std::vector<double> values = logits.to_vector();
  const double largest = *std::max_element(values.begin(), values.end());
  double total = 0.0;
  for (double value : values) total += std::exp(value - largest);
  const auto best = static_cast<std::size_t>(std::max_element(values.begin(), values.end()) - values.begin());

  std::int64_t real = 0;  // pieces before the padding
  while (real < config().seq_len && ids[static_cast<std::size_t>(real)] != config().pad_id) ++real;
  nlohmann::json result = {{"text", text},
                           {"label", class_names_[best]},
                           {"probability", 1.0 / total},
                           {"pieces", nlohmann::json::array()},
                           {"layers", nlohmann::json::array()}};
  for (std::int64_t position = 0; position < real; ++position)
    result["pieces"].push_back(pieces.token_of(static_cast<std::int32_t>(ids[static_cast<std::size_t>(position)])));
  for (const LayerExplanation& layer : layers) {
    const Tensor assignments = layer.assignments.contiguous();  // [1, L, C]
    const std::int64_t clusters = assignments.size(2);
    const std::vector<double> weights = assignments.to_vector();
    nlohmann::json routing = nlohmann::json::array();
    for (std::int64_t position = 0; position < real; ++position) {
      std::vector<std::pair<double, std::int64_t>> ranked;
      for (std::int64_t cluster = 0; cluster < clusters; ++cluster)
        ranked.emplace_back(weights[static_cast<std::size_t>(position * clusters + cluster)], cluster);
      const auto count = static_cast<std::size_t>(std::min(top, clusters));
      std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(count), ranked.end(),
                        [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
      nlohmann::json chosen = nlohmann::json::array();
      for (std::size_t index = 0; index < count; ++index) chosen.push_back({ranked[index].second, ranked[index].first});
      routing.push_back({{"piece", result["pieces"][static_cast<std::size_t>(position)]}, {"clusters", chosen}});
    }
    nlohmann::json attention = nlohmann::json::array();
    if (layer.cluster_attention.defined() && layer.cluster_attention.numel() > 0) {
      const Tensor heads = layer.cluster_attention.contiguous();  // [1, H, C, C]
      const std::int64_t head_count = heads.size(1), size = heads.size(2);
      const std::vector<double> probabilities = heads.to_vector();
      for (std::int64_t row = 0; row < size; ++row) {
        nlohmann::json line = nlohmann::json::array();
        for (std::int64_t column = 0; column < size; ++column) {
          double mean = 0.0;
          for (std::int64_t head = 0; head < head_count; ++head)
            mean += probabilities[static_cast<std::size_t>((head * size + row) * size + column)];
          line.push_back(mean / static_cast<double>(head_count));
        }
        attention.push_back(line);
      }
    }
    nlohmann::json matrix = nlohmann::json::array();  // [real pieces][clusters]
    for (std::int64_t position = 0; position < real; ++position)
      matrix.push_back(std::vector<double>(weights.begin() + position * clusters, weights.begin() + (position + 1) * clusters));
    result["layers"].push_back(
        {{"clusters", clusters}, {"routing", routing}, {"assignments", matrix}, {"cluster_attention", attention}});
  }
  return result;
}

}  // namespace sf
