// SwarmFormerConfig: every field of both variants, each documented once in visit_fields below
// (the single list that JSON reading, writing and `info` use; no list is kept in sync by hand).
//
// variant "original" reproduces the reference PyTorch model exactly and ignores the enhanced
// switches. variant "enhanced" turns on the eight enhancements of docs/design.md §5 one switch each;
// a switch that is off puts the original component back in its place, so any subset runs
// (the ablation study). See swarmformer/README.md for the math of each block.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sf {

struct SwarmFormerConfig {
  // ---- shared ----
  std::string variant = "original";
  std::int64_t vocab_size = 30522;
  std::int64_t d_model = 128;
  std::int64_t seq_len = 256;
  std::int64_t cluster_size = 8;
  std::int64_t num_layers = 2;
  std::int64_t local_steps = 3;
  std::int64_t num_classes = 2;
  std::int64_t pad_id = 0;
  double embedding_dropout = 0.4;
  double local_dropout = 0.3;
  double attention_dropout = 0.3;
  double attention_output_dropout = 0.3;
  double broadcast_dropout = 0.1;
  double classifier_dropout = 0.4;
  // ---- enhanced switches (the eight enhancements) ----
  bool local_attention = true;
  bool multi_head_cluster_attention = true;
  bool dynamic_routing = true;
  bool gated_feedback = true;
  bool pre_layer_norm = true;
  bool tied_qkv = true;
  bool pyramid = true;
  bool gumbel_softmax = true;
  // ---- enhanced: the open choices ----
  std::int64_t local_window = 8;
  std::int64_t local_heads = 4;
  std::string position = "relative";
  std::int64_t cluster_heads = 4;
  double routing_token_fraction = 0.5;
  std::int64_t feedback_hidden = 64;
  std::int64_t pyramid_factor = 2;
  double gumbel_temperature_start = 1.0;
  double gumbel_temperature_end = 0.5;
  std::int64_t gumbel_anneal_steps = 2000;
  bool gumbel_hard = false;
  bool mask_padding = true;
  // ---- input: how a text becomes rows of seq_len ids (both variants) ----
  std::string truncation = "head";
  std::int64_t truncation_head = 0;
  std::int64_t eval_windows = 1;

  bool is_enhanced() const { return variant == "enhanced"; }
  std::int64_t clusters() const { return seq_len / cluster_size; }
  // Clusters of layer `layer` (the pyramid halves them, by pyramid_factor, each layer).
  std::int64_t clusters_at(std::int64_t layer) const;
  // The Gumbel-softmax temperature after `step` training steps (linear anneal, then constant).
  double gumbel_temperature(std::int64_t step) const;

  // Throws sf::Error naming the field and the problem (and `source`, e.g. a file name).
  void validate(const std::string& source = "config") const;
  nlohmann::json to_json() const;
  // Unknown keys and wrong types are errors naming the key; missing keys keep the defaults.
  static SwarmFormerConfig from_json(const nlohmann::json& json, const std::string& source = "config");
  // Applies "key=value" (value parsed as JSON when it parses, else taken as a string).
  void set(const std::string& assignment, const std::string& source = "--set");
};

// Calls visitor(name, field reference, description) for every field, in declaration order.
template <class Config, class Visitor>
void visit_fields(Config& config, Visitor&& visitor) {
  visitor("variant", config.variant, "\"original\" (the reference model) or \"enhanced\"");
  visitor("vocab_size", config.vocab_size, "V, token vocabulary size (BERT uncased: 30522)");
  visitor("d_model", config.d_model, "D, model width");
  visitor("seq_len", config.seq_len, "L, tokens per sequence (padded/truncated)");
  visitor("cluster_size", config.cluster_size, "S, tokens per cluster in layer 0; clusters C = L / S");
  visitor("num_layers", config.num_layers, "number of SwarmFormer layers");
  visitor("local_steps", config.local_steps, "T, local aggregation steps per layer (shared weights)");
  visitor("num_classes", config.num_classes, "output classes");
  visitor("pad_id", config.pad_id, "token id of padding");
  visitor("embedding_dropout", config.embedding_dropout, "dropout after the embedding");
  visitor("local_dropout", config.local_dropout, "dropout in each local step (input and update)");
  visitor("attention_dropout", config.attention_dropout, "dropout on the cluster attention weights");
  visitor("attention_output_dropout", config.attention_output_dropout, "dropout on the cluster attention output");
  visitor("broadcast_dropout", config.broadcast_dropout, "dropout on the cluster-to-token update");
  visitor("classifier_dropout", config.classifier_dropout, "dropout before the classifier");
  visitor("local_attention", config.local_attention, "enhancement 1: windowed multi-head attention replaces rolling shifts");
  visitor("multi_head_cluster_attention", config.multi_head_cluster_attention,
          "enhancement 2: multi-head cluster attention with output projection and residual");
  visitor("dynamic_routing", config.dynamic_routing,
          "enhancement 3: tokens choose clusters by learned prototypes; a token gate lets a fraction update clusters");
  visitor("gated_feedback", config.gated_feedback, "enhancement 4: cluster-to-token update through a gated residual MLP");
  visitor("pre_layer_norm", config.pre_layer_norm, "enhancement 5: LayerNorm before every attention and MLP block");
  visitor("tied_qkv", config.tied_qkv, "enhancement 6: one shared Q/K/V projection in the cluster attention");
  visitor("pyramid", config.pyramid, "enhancement 7: clusters per layer C, C/f, C/f^2, ...");
  visitor("gumbel_softmax", config.gumbel_softmax,
          "enhancement 8: Gumbel-softmax routing noise in training with an annealed temperature");
  visitor("local_window", config.local_window, "w, each token attends to tokens within +-w (edges masked)");
  visitor("local_heads", config.local_heads, "heads of the local attention");
  visitor("position", config.position,
          "positional information of the enhanced model: \"relative\" (learned bias per head and offset in the "
          "local attention), \"learned\" (absolute embedding [L, D]) or \"none\"");
  visitor("cluster_heads", config.cluster_heads, "H, heads of the cluster attention");
  visitor("routing_token_fraction", config.routing_token_fraction,
          "p, fraction of each sequence's real tokens (highest gate scores) that update the clusters");
  visitor("feedback_hidden", config.feedback_hidden, "hidden width of the gated feedback's residual MLP");
  visitor("pyramid_factor", config.pyramid_factor, "f, clusters divide by f at each layer when pyramid is on");
  visitor("gumbel_temperature_start", config.gumbel_temperature_start, "tau at step 0");
  visitor("gumbel_temperature_end", config.gumbel_temperature_end, "tau after the anneal");
  visitor("gumbel_anneal_steps", config.gumbel_anneal_steps, "steps of the linear tau anneal");
  visitor("gumbel_hard", config.gumbel_hard, "straight-through one-hot assignments in training");
  visitor("mask_padding", config.mask_padding,
          "enhanced: padding tokens are masked in attention, routing and pooling (the original masks nothing)");
  visitor("truncation", config.truncation,
          "which pieces of a text longer than seq_len - 2 are kept: \"head\" (the first), \"tail\" (the last) or "
          "\"head_tail\" (the first truncation_head and the rest from the end)");
  visitor("truncation_head", config.truncation_head, "head_tail: pieces kept from the start (0: seq_len / 2)");
  visitor("eval_windows", config.eval_windows,
          "evaluation and prediction read a long text as up to this many evenly spaced windows of seq_len - 2 pieces "
          "and average their logits (1: one truncated window, as in training)");
}

// Config documents: {"model": {...SwarmFormerConfig...}, "training": {...}} — the built-in
// presets (configs/*.json compiled in: original-small, original-base, enhanced-small,
// enhanced-base) or a user's file.
std::vector<std::string> preset_names();
// The whole document of a preset name or of a JSON file path.
nlohmann::json load_config_document(const std::string& preset_or_path);
// Its "model" section, validated.
SwarmFormerConfig load_config(const std::string& preset_or_path);
// Throws naming `source` when `text` (e.g. a --set assignment) is not valid UTF-8: it is about to
// become a string of a JSON config document, and JSON text is UTF-8.
void check_utf8_text(const std::string& text, const std::string& source);

}  // namespace sf
