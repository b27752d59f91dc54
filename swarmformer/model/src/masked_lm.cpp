// Masked language modelling: the masking rule and the tied head; the math is in masked_lm.hpp.
#include "sf/swarmformer/masked_lm.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "sf/autograd/functional.hpp"
#include "sf/core/error.hpp"
#include "sf/core/random.hpp"

namespace sf {
namespace {

double unit(std::uint32_t word) { return static_cast<double>(word) * (1.0 / 4294967296.0); }  // [0, 1)

// The r-th id of [0, V) that is not special (r < V - 5).
std::int64_t non_special_id(std::int64_t rank, const SpecialTokens& special) {
  std::array<std::int64_t, 5> specials{special.pad, special.unknown, special.classifier, special.separator, special.mask};
  std::sort(specials.begin(), specials.end());
  std::int64_t id = rank;
  for (std::int64_t taken : specials)
    if (id >= taken) ++id;
  return id;
}

}  // namespace

MaskedBatch mask_tokens(const std::vector<std::int64_t>& ids, std::int64_t length,
                        const std::vector<std::int64_t>& example_indices, const MaskingOptions& options,
                        const SpecialTokens& special, std::uint64_t seed, std::int64_t epoch) {
  const auto rows = static_cast<std::int64_t>(example_indices.size());
  SF_CHECK(length > 0 && static_cast<std::int64_t>(ids.size()) == rows * length,
           "mask_tokens: {} ids do not form {} rows of length {}", ids.size(), rows, length);
  SF_CHECK(options.mask_fraction >= 0.0 && options.mask_fraction <= 1.0 && options.replace_with_mask >= 0.0 &&
               options.replace_with_random >= 0.0 && options.replace_with_mask + options.replace_with_random <= 1.0,
           "mask_tokens: fractions out of range (mask {}, [MASK] {}, random {})", options.mask_fraction,
           options.replace_with_mask, options.replace_with_random);
  const Generator stream = Generator(seed).fork(static_cast<std::uint64_t>(epoch));
  const std::int64_t choices = special.vocabulary_size - 5;
  MaskedBatch batch;
  batch.ids = ids;
  for (std::int64_t row = 0; row < rows; ++row) {
    const auto example = static_cast<std::uint64_t>(example_indices[static_cast<std::size_t>(row)]);
    for (std::int64_t position = 0; position < length; ++position) {
      const std::size_t flat = static_cast<std::size_t>(row * length + position);
      if (special.is_special(ids[flat])) continue;
      const std::array<std::uint32_t, 4> words = stream.block(example * static_cast<std::uint64_t>(length) +
                                                              static_cast<std::uint64_t>(position));
      if (unit(words[0]) >= options.mask_fraction) continue;
      batch.positions.push_back(static_cast<std::int64_t>(flat));
      batch.targets.push_back(ids[flat]);
      const double kind = unit(words[1]);
      if (kind < options.replace_with_mask) {
        batch.ids[flat] = special.mask;
      } else if (kind < options.replace_with_mask + options.replace_with_random) {
        batch.ids[flat] = non_special_id(static_cast<std::int64_t>(unit(words[2]) * static_cast<double>(choices)), special);
      }
    }
  }
  return batch;
}

MaskedLanguageModelHead::MaskedLanguageModelHead(std::int64_t d_model, std::int64_t vocabulary_size,
                                                 Generator& init_generator) {
  transform_ = register_module("transform", std::make_shared<nn::Linear>(nn::LinearOptions{d_model, d_model}, init_generator));
  norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions{d_model}));
  decoder_bias_ = register_parameter("decoder_bias", Tensor::zeros({vocabulary_size}));
}

Variable MaskedLanguageModelHead::forward(const Variable& states, const std::vector<std::int64_t>& positions,
                                          const Variable& embedding_weight) {
  SF_CHECK(states.dim() == 3, "MaskedLanguageModelHead: states must be [B, L, D], got {}", shape_string(states.shape()));
  SF_CHECK(embedding_weight.dim() == 2 && embedding_weight.size(1) == states.size(2) &&
               embedding_weight.size(0) == decoder_bias_.size(0),
           "MaskedLanguageModelHead: embedding {} does not match states {} and the decoder bias {}",
           shape_string(embedding_weight.shape()), shape_string(states.shape()), shape_string(decoder_bias_.shape()));
  const Variable flat = reshape(states, {states.size(0) * states.size(1), states.size(2)});
  const Variable chosen = index_select(flat, 0, positions);  // [M, D], before the vocabulary projection
  const Variable hidden = norm_->forward(gelu(transform_->forward(chosen)));
  // The embedding rows are N(0, 1) (PyTorch's nn.Embedding init), so u Eᵀ would have a standard
  // deviation of √D; 1/√D brings the initial logits to O(1) (T5 rescales its tied head the same way).
  const double scale = 1.0 / std::sqrt(static_cast<double>(states.size(2)));
  return linear(hidden * scale, embedding_weight, decoder_bias_);
}

std::string MaskedLanguageModelHead::describe() const {
  return fmt::format("MaskedLanguageModelHead(d_model={}, vocabulary={}, decoder tied to the embedding)",
                     transform_->options.in_features, decoder_bias_.size(0));
}

}  // namespace sf
