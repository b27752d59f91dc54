// Classifier: a checkpoint as a text classifier (classifier.hpp).
#include "sf/swarmformer/classifier.hpp"

#include <algorithm>

#include "sf/autograd/grad_mode.hpp"
#include "sf/nn/checkpoint.hpp"
#include "sf/nn/safetensors.hpp"
#include "sf/swarmformer/dataset.hpp"
#include "sf/swarmformer/evaluation.hpp"
#include "sf/swarmformer/token_cache.hpp"
#include "sf/swarmformer/training_config.hpp"
#include "sf/swarmformer/training_data.hpp"

namespace sf {

std::unique_ptr<SwarmFormer> load_model(const std::string& checkpoint, const std::string& preset_or_config,
                                        const std::vector<std::string>& input_overrides) {
  const SafetensorsHeader header = read_safetensors_header(checkpoint);
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

Classifier Classifier::load(const std::string& checkpoint, const ClassifierOptions& options) {
  if (options.batch_size < 1) fail("Classifier {}: batch_size must be at least 1, got {}", checkpoint, options.batch_size);
  Classifier classifier;
  classifier.model_ = load_model(checkpoint, options.preset_or_config, options.input_overrides);
  classifier.metadata_ = read_safetensors_header(checkpoint).metadata;
  classifier.checkpoint_ = checkpoint;
  classifier.vocabulary_ = options.vocabulary;
  classifier.batch_size_ = options.batch_size;
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
  model_->eval();
  return model_->forward(ids, rows).data();
}

std::vector<Prediction> Classifier::predict(const std::vector<std::string>& texts) {
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
  TextDataset dataset;
  dataset.texts = texts;
  dataset.labels.assign(texts.size(), 0);
  const TokenizedSplit split =
      tokenize_dataset(dataset, *tokenizer_, config().seq_len, input_framing(config(), /*evaluation=*/true));
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

}  // namespace sf
