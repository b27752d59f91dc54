// Text augmentation: seeded, deterministic transforms of a labelled dataset, applied once to the
// training split before tokenizing (as the released SwarmFormer training does), never to
// validation or test. Any text dataset works; nothing here knows about IMDB.
//
// A spec is a comma-separated list of transform:amount (the training field `augment`):
//   sentence_shuffle:F  each example, with probability F, adds a copy whose sentences are shuffled
//                       in chunks: walking the sentences, a sentence and the next are kept together
//                       with probability 0.7, then the chunks are shuffled (texts of at most two
//                       sentences are copied unchanged)
//   synonym_swap:F      each example, with probability F, adds a copy in which every
//                       whitespace-separated word is, with probability `synonym_word_probability`
//                       (0.1), replaced by a WordNet synonym drawn uniformly from wordnet.hpp's list
//                       (words without synonyms stay); the copy's words are joined by single spaces
//   concatenate:F       floor(F × n) new examples, each 2 or 3 distinct reviews of one class (the
//                       class drawn in proportion to its size) joined by spaces, the second and third
//                       opened by a connective ("Additionally, ", "In contrast, ", ...)
// e.g. "sentence_shuffle:0.3,synonym_swap:0.3,concatenate:0.25" turns IMDB's 25,000 training
// reviews into about 46,000. The new examples follow the originals: all shuffled copies, then all
// synonym copies, then the concatenations. Same (dataset, spec, seed) -> the same texts, on any
// machine and thread count.
//
// Sentences: a sentence ends after a run of . ! ? (with any closing quotes or brackets) that is
// followed by whitespace or an HTML line break "<br", unless the word before the period is a
// common abbreviation (Mr. Dr. St. vs. etc. e.g. ...) or a single letter (initials).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sf/core/random.hpp"
#include "sf/swarmformer/dataset.hpp"
#include "sf/swarmformer/wordnet.hpp"

namespace sf {

struct AugmentOptions {
  double sentence_shuffle = 0.0;
  double synonym_swap = 0.0;
  double concatenate = 0.0;
  double synonym_word_probability = 0.1;
  std::string wordnet_dir = "/usr/share/wordnet";

  bool any() const { return sentence_shuffle > 0.0 || synonym_swap > 0.0 || concatenate > 0.0; }
  // Parses a spec (see above; "" or "none": no augmentation). Errors name the entry.
  static AugmentOptions parse(const std::string& spec);
};

// The augmented dataset (the originals first). `summary`, when given, receives the counts.
TextDataset augment_dataset(const TextDataset& dataset, const AugmentOptions& options, std::uint64_t seed,
                            nlohmann::json* summary = nullptr);

// The transforms one at a time (each draws from `generator`).
std::vector<std::string_view> split_sentences(std::string_view text);
std::string shuffle_sentences(std::string_view text, Generator& generator);
std::string swap_synonyms(std::string_view text, double word_probability, const WordNet& wordnet, Generator& generator);
std::string concatenate_texts(const std::vector<std::string_view>& texts, Generator& generator);

}  // namespace sf
