#include "sf/swarmformer/training_data.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <tuple>

#include "sf/core/error.hpp"
#include "sf/swarmformer/augment.hpp"
#include "sf/swarmformer/tokenizer.hpp"

namespace sf {
namespace {

// `count` examples chosen by a seeded permutation, kept in their original order.
TextDataset subsample(const TextDataset& dataset, std::int64_t count, std::uint64_t seed) {
  if (count <= 0 || count >= dataset.size()) return dataset;
  std::vector<std::int64_t> chosen = epoch_permutation(dataset.size(), seed, 0);
  chosen.resize(static_cast<std::size_t>(count));
  std::sort(chosen.begin(), chosen.end());
  TextDataset result;
  result.class_names = dataset.class_names;
  for (std::int64_t index : chosen) {
    result.texts.push_back(dataset.texts[static_cast<std::size_t>(index)]);
    result.labels.push_back(dataset.labels[static_cast<std::size_t>(index)]);
  }
  return result;
}

}  // namespace

AugmentOptions augment_options(const TrainingConfig& training) {
  AugmentOptions options = AugmentOptions::parse(training.augment);
  options.synonym_word_probability = training.augment_synonym_word_probability;
  options.wordnet_dir = training.wordnet_dir;
  return options;
}

std::string find_default_vocabulary(const std::string& data_path) {
  namespace fs = std::filesystem;
  const std::string file = "bert-base-uncased-vocab.txt";
  std::vector<fs::path> candidates;
  if (const char* vocab = std::getenv("SF_VOCAB")) candidates.emplace_back(vocab);
  if (const char* data = std::getenv("SF_DATA_DIR")) candidates.push_back(fs::path(data) / "vocab" / file);
  if (!data_path.empty()) {
    const fs::path data = fs::absolute(data_path);
    for (fs::path directory = data.parent_path(); !directory.empty() && directory != directory.root_path();
         directory = directory.parent_path()) {
      candidates.push_back(directory / "vocab" / file);
      candidates.push_back(directory / file);
      if (candidates.size() > 12) break;
    }
  }
  candidates.push_back(fs::path("../shared/data/vocab") / file);
  candidates.push_back(fs::path("shared/data/vocab") / file);
  for (const fs::path& candidate : candidates)
    if (fs::is_regular_file(candidate)) return candidate.string();
  return "";
}

TrainingData load_training_data(const std::string& data_path, const std::string& vocab_path,
                                const SwarmFormerConfig& model, const TrainingConfig& training,
                                const std::string& cache_dir, const MessageSink& messages) {
  const WordPieceTokenizer tokenizer = WordPieceTokenizer::from_file(vocab_path);
  if (tokenizer.vocabulary_size() != model.vocab_size)
    fail("data: the vocabulary {} has {} tokens but the model's vocab_size is {}", vocab_path,
         tokenizer.vocabulary_size(), model.vocab_size);
  const TextDataset full_train = load_dataset(data_path, "train");
  const TextDataset full_test = load_dataset(data_path, "test", full_train.class_names);
  for (const TextDataset* dataset : {&full_train, &full_test})
    for (const std::string& warning : dataset->warnings) tell(messages, warning);
  if (static_cast<std::int64_t>(full_train.class_names.size()) != model.num_classes)
    fail("data: {} has {} classes but the model's num_classes is {}", data_path, full_train.class_names.size(),
         model.num_classes);
  const auto seed = static_cast<std::uint64_t>(training.seed);
  // The published protocol trains on all of train and chooses the checkpoint on test; otherwise a
  // validation split is carved out of train.
  TextDataset train_split, validation_split;
  if (training.selects_on_test()) train_split = full_train;
  else std::tie(train_split, validation_split) = split_stratified(full_train, training.validation_fraction, seed);
  TextDataset train = subsample(train_split, training.max_train_examples, seed + 1);
  const TextDataset test = subsample(full_test, training.max_eval_examples, seed + 3);
  nlohmann::json augmented = nullptr;
  if (const AugmentOptions augment = augment_options(training); augment.any())
    train = augment_dataset(train, augment, seed + 4, &augmented);

  TrainingData data;
  auto tokenize = [&](const TextDataset& dataset, const char* name, bool evaluation) {
    CacheOutcome outcome = CacheOutcome::loaded;
    const Framing framing = input_framing(model, evaluation);
    TokenizedSplit split = cache_dir.empty()
                               ? tokenize_dataset(dataset, tokenizer, model.seq_len, framing)
                               : tokenize_cached(dataset, tokenizer, model.seq_len, cache_dir, &outcome, framing, messages);
    tell(messages, fmt::format("data: {} {} examples, {} rows ({})", name, split.size(), split.rows(),
                               cache_dir.empty()                     ? "tokenized"
                               : outcome == CacheOutcome::loaded     ? "from cache"
                                                                     : "tokenized, cached"));
    return split;
  };
  data.train = tokenize(train, "train", false);
  data.test = tokenize(test, "test", true);
  if (training.selects_on_test()) {
    data.validation = data.test;
  } else {
    data.validation = tokenize(subsample(validation_split, training.max_eval_examples, seed + 2), "validation", true);
  }
  data.description = {{"path", data_path},
                      {"vocabulary", vocab_path},
                      {"class_names", full_train.class_names},
                      {"train_examples", data.train.size()},
                      {"validation_examples", data.validation.size()},
                      {"test_examples", data.test.size()},
                      {"full_test_examples", full_test.size()},
                      {"validation_fraction", training.selects_on_test() ? 0.0 : training.validation_fraction},
                      {"checkpoint_chosen_on", training.selects_on_test() ? "test (published protocol)" : "validation"},
                      {"augmentation", augmented},
                      {"truncation", model.truncation},
                      {"eval_windows", model.eval_windows},
                      {"seq_len", model.seq_len}};
  return data;
}

}  // namespace sf
