// A trained SwarmFormer as a text classifier, for programs of one's own: load a checkpoint
// (`swarmformer train`'s best.safetensors), then classify texts or token ids.
//
//   sf::Classifier classifier = sf::Classifier::load("runs/enhanced-small/best.safetensors",
//                                                    {.vocabulary = "bert-base-uncased-vocab.txt"});
//   for (const sf::Prediction& p : classifier.predict({"A wonderful film.", "Dull and long."}))
//     std::cout << p.label << " " << p.probability << "\n";
//
// The model is built from the config stored in the checkpoint (or `preset_or_config` when the
// file stores none, e.g. weights converted from PyTorch), every tensor is loaded strictly (a
// missing or extra tensor is an error), and it runs in evaluation mode. Texts are framed as in
// evaluation during training (truncation, eval_windows: the logits of a long text's windows are
// averaged); `input_overrides` may change the framing ("truncation=head", "eval_windows=1"),
// nothing that touches the weights. Class names come from the checkpoint ("0", "1", … if absent).
// `precision` sets the arithmetic of the matrix products for this classifier's calls only (a
// MatmulPrecisionGuard around each); the weights stay float32.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sf/core/matmul.hpp"
#include "sf/core/tensor.hpp"
#include "sf/swarmformer/model.hpp"
#include "sf/swarmformer/tokenizer.hpp"

namespace sf {

struct ClassifierOptions {
  std::string vocabulary{};                 // vocab.txt; empty: SF_VOCAB / SF_DATA_DIR, as the command line
  std::string preset_or_config{};           // only for checkpoints that store no config
  std::vector<std::string> input_overrides{};  // "truncation=…", "truncation_head=…", "eval_windows=…"
  std::int64_t batch_size = 64;             // rows per forward pass in predict()
  std::string precision = "fp32";           // the matrix products: fp32, bf16 (operands rounded to
                                            // bfloat16, float32 sums), auto (bf16 where the CPU has it)
};

struct Prediction {
  std::string label;                 // the class name of the most probable class
  std::int64_t index = 0;            // its index
  double probability = 0.0;          // its probability
  std::vector<double> probabilities; // every class's, softmax of the window-averaged logits
};

class Classifier {
 public:
  static Classifier load(const std::string& checkpoint, const ClassifierOptions& options = {});

  // Logits [rows, classes] of `rows` sequences of exactly seq_len token ids each (row-major).
  Tensor logits(const std::vector<std::int64_t>& ids, std::int64_t rows);
  std::vector<Prediction> predict(const std::vector<std::string>& texts);
  // How the model reads one text (its first window): the prediction, the word pieces, and per
  // layer each real piece's `top` clusters by routing weight, all its weights, and the
  // head-averaged attention among clusters (JSON: text, label, probability, pieces,
  // layers[{clusters, routing[{piece, clusters[[cluster, weight], …]}], assignments[piece][C],
  // cluster_attention[C][C]}]).
  nlohmann::json explain(const std::string& text, std::int64_t top = 3);

  SwarmFormer& model() { return *model_; }
  const SwarmFormerConfig& config() const { return model_->config(); }
  const std::vector<std::string>& class_names() const { return class_names_; }
  const nlohmann::json& metadata() const { return metadata_; }  // the checkpoint's metadata
  const std::string& checkpoint() const { return checkpoint_; }
  bool uses_bfloat16() const { return bfloat16_; }  // precision resolved: bf16, or auto on a CPU with it

 private:
  Classifier() = default;
  std::unique_ptr<SwarmFormer> model_;
  const WordPieceTokenizer& tokenizer();
  std::shared_ptr<const WordPieceTokenizer> tokenizer_;  // loaded on the first predict() or explain()
  std::string vocabulary_, checkpoint_;
  std::vector<std::string> class_names_;
  nlohmann::json metadata_;
  std::int64_t batch_size_ = 64;
  bool bfloat16_ = false;
  compute::MatmulPrecision product_precision() const {
    return bfloat16_ ? compute::MatmulPrecision::Bfloat16 : compute::MatmulPrecision::Float32;
  }
};

// The model of `checkpoint` with its weights, in evaluation mode (Classifier::load without the
// tokenizer and class names), for the commands that work on ids.
std::unique_ptr<SwarmFormer> load_model(const std::string& checkpoint, const std::string& preset_or_config = "",
                                        const std::vector<std::string>& input_overrides = {});

}  // namespace sf
