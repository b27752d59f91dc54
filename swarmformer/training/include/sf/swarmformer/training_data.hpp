// The three tokenized splits a training run needs, from one dataset path.
//
// train and test come from the dataset's own splits; validation is carved out of train
// (stratified, seeded by the training seed, validation_fraction of it), except under
// checkpoint_selection = "test", where all of train is trained on and validation is the test split.
// max_train_examples and max_eval_examples subsample (seeded) for quick runs; then `augment`
// transforms the training split (never validation or test). Training rows are framed with one
// window, validation and test rows with eval_windows. The description records what was used.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sf/swarmformer/augment.hpp"
#include "sf/swarmformer/config.hpp"
#include "sf/swarmformer/token_cache.hpp"
#include "sf/swarmformer/training_config.hpp"

namespace sf {

struct TrainingData {
  TokenizedSplit train, validation, test;
  nlohmann::json description;  // path, counts, class names, vocabulary, subsampling
};

// The training config's augmentation settings.
AugmentOptions augment_options(const TrainingConfig& training);

// Loads, splits and tokenizes (through the binary cache in cache_dir). `messages` hears what it
// loaded, a rebuilt cache and skipped rows. Throws sf::Error naming the file and the problem for missing or malformed data, or a
// vocabulary whose size differs from the model's vocab_size.
TrainingData load_training_data(const std::string& data_path, const std::string& vocab_path,
                                const SwarmFormerConfig& model, const TrainingConfig& training,
                                const std::string& cache_dir, const MessageSink& messages = {});

// The vocabulary to use when none is given: $SF_VOCAB, then bert-base-uncased-vocab.txt under
// $SF_DATA_DIR/vocab, ../shared/data/vocab, or next to the data. Empty when none exists.
std::string find_default_vocabulary(const std::string& data_path);

}  // namespace sf
