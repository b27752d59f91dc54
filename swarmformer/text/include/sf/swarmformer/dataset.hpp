// Text-classification datasets: loading (Stanford aclImdb, JSONL, CSV), a stratified validation
// split and the per-epoch shuffle.
//
// Formats (swarmformer/README.md, "Data", has the full rules and the bad-data policy):
//   aclImdb       a directory (…/aclImdb or a folder holding it) or the aclImdb_v1.tar.gz archive:
//                 aclImdb/{train,test}/{neg,pos}/<id>_<rating>.txt; labels neg = 0, pos = 1.
//   JSONL         one object per line, {"text": "...", "label": 3} or {"label": "sports"};
//                 plain or gzip-compressed (.jsonl, .jsonl.gz). The project's IMDB files
//                 ({"id": "train/neg/0", "label": 0, ...}) get class names from their ids.
//   CSV           RFC 4180, a header row naming a `text` and a `label` column.
// Every text is checked to be valid UTF-8. Errors are sf::Error naming the file and line.
// Rows with an empty (or all-whitespace) text are skipped and counted, in one line of `warnings`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sf {

struct TextDataset {
  std::vector<std::string> texts{};
  std::vector<std::int32_t> labels{};      // in [0, class_names.size())
  std::vector<std::string> class_names{};  // label i is class_names[i]
  std::vector<std::string> warnings{};     // what the loader noticed but did not refuse (skipped empty rows)

  std::int64_t size() const { return static_cast<std::int64_t>(texts.size()); }
};

// Detects the format of `path` and loads `split` ("train", "test", ...):
//   directory with the aclImdb layout (it or its aclImdb/ child holds train/ and test/) -> aclImdb;
//   directory holding <split>.jsonl.gz, <split>.jsonl or <split>.csv (first found)      -> that file;
//   directory holding aclImdb_v1.tar.gz                                                 -> the archive;
//   *.tar.gz, *.tgz, *.tar                                                              -> aclImdb archive;
//   *.jsonl, *.jsonl.gz, *.ndjson[.gz]; *.csv[.gz]                                      -> one split per file:
//     a file named train.* / test.* is that split, and the other split is the sibling file with
//     the name swapped (data/train.csv -> data/test.csv); any other file name is the "train" split.
// `class_names`, when given, fixes the classes (pass the train split's so the test split maps
// every label the same way); a label outside them is an error.
TextDataset load_dataset(const std::string& path, const std::string& split,
                         const std::vector<std::string>& class_names = {});

// The individual loaders.
TextDataset load_aclimdb_directory(const std::string& path, const std::string& split);
TextDataset load_aclimdb_archive(const std::string& path, const std::string& split);
TextDataset load_jsonl(const std::string& path, const std::vector<std::string>& class_names = {});
TextDataset load_csv(const std::string& path, const std::vector<std::string>& class_names = {});

// Carves a validation split out of `dataset`: for each class, round(fraction × its count) rows,
// drawn at random with sf::Generator(seed) (so the split is deterministic), go to validation and
// the rest to train. Both keep the dataset's order and class_names. fraction in [0, 1).
std::pair<TextDataset, TextDataset> split_stratified(const TextDataset& dataset, double fraction, std::uint64_t seed);

// The visiting order of `count` examples in epoch `epoch`: a Fisher-Yates shuffle driven by
// sf::Generator(seed).fork(epoch). Same (count, seed, epoch) -> same permutation, on any machine.
std::vector<std::int64_t> epoch_permutation(std::int64_t count, std::uint64_t seed, std::int64_t epoch);

}  // namespace sf
