// Masked language modelling (BERT's objective) for self-pretraining the SwarmFormer encoder.
//
// Masking (mask_tokens): every real token — not padding, not [CLS] / [SEP] / [UNK] / [MASK] — is
// chosen with probability mask_fraction (0.15), independently. A chosen token becomes [MASK] with
// probability 0.8, a random non-special token with 0.1, and stays with 0.1; the model must predict
// the original at every chosen position. The draws of token j of example e in epoch t come from
// one Philox block of Generator(seed).fork(t) at counter e × L + j, so the mask depends only on
// (seed, epoch, example, position): not on the batch, the thread count or the number of ranks,
// and a new epoch gives a new mask (dynamic masking).
//
// Head (MaskedLanguageModelHead), on the encoder's states h [B, L, D] at the M chosen positions:
//   g = rows of h at the chosen positions                       [M, D]   (gathered first, so the
//   u = LayerNorm(GELU(g W_d + b_d))                            [M, D]    cost scales with M, not
//   logits = (u / √D) Eᵀ + b_v  (E: the token embedding [V, D]) [M, V]    B × L)
// The 1/√D keeps the initial logits O(1): E is N(0, 1) (PyTorch's embedding init, which the
// classifiers were tuned with), so u Eᵀ alone would start with a standard deviation of √D and a
// loss near 4√D instead of ln V (measured: 46 instead of 10.3 at D = 128).
//   loss = mean over the M positions of CE(logits, original ids)
// The decoder's weight is the embedding table itself (tied), so its gradient reaches E twice:
// through the decoder and through the embedding lookup.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sf/nn/layers.hpp"
#include "sf/nn/module.hpp"

namespace sf {

struct SpecialTokens {
  std::int64_t pad = 0, unknown = 100, classifier = 101, separator = 102, mask = 103;  // BERT uncased
  std::int64_t vocabulary_size = 30522;
  bool is_special(std::int64_t id) const {
    return id == pad || id == unknown || id == classifier || id == separator || id == mask;
  }
};

struct MaskingOptions {
  double mask_fraction = 0.15;
  double replace_with_mask = 0.8;
  double replace_with_random = 0.1;  // the rest of the chosen tokens stay as they are
};

struct MaskedBatch {
  std::vector<std::int64_t> ids;        // B × L, the corrupted input
  std::vector<std::int64_t> positions;  // the chosen flat positions b × L + j, ascending
  std::vector<std::int64_t> targets;    // the original ids there
};

// Masks `ids` (B × L, row-major); row b is example example_indices[b] of the corpus.
MaskedBatch mask_tokens(const std::vector<std::int64_t>& ids, std::int64_t length,
                        const std::vector<std::int64_t>& example_indices, const MaskingOptions& options,
                        const SpecialTokens& special, std::uint64_t seed, std::int64_t epoch);

class MaskedLanguageModelHead : public nn::Module {
 public:
  MaskedLanguageModelHead(std::int64_t d_model, std::int64_t vocabulary_size, Generator& init_generator);
  // Logits [M, V] at `positions` of states [B, L, D], decoded with `embedding_weight` [V, D].
  Variable forward(const Variable& states, const std::vector<std::int64_t>& positions, const Variable& embedding_weight);
  std::string describe() const override;

 private:
  std::shared_ptr<nn::Linear> transform_;
  std::shared_ptr<nn::LayerNorm> norm_;
  Variable decoder_bias_;
};

}  // namespace sf
