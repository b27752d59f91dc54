// Format detection, the stratified validation split and the per-epoch shuffle.
#include "sf/swarmformer/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "dataset_internal.hpp"
#include "sf/core/error.hpp"
#include "sf/core/random.hpp"

namespace sf {
namespace {

namespace fs = std::filesystem;

enum class FileFormat { archive, jsonl, csv, unknown };

FileFormat format_of(const std::string& file_name) {
  const std::string name = detail::lower_case_ascii(file_name);
  for (const char* suffix : {".tar.gz", ".tgz", ".tar"})
    if (name.ends_with(suffix)) return FileFormat::archive;
  for (const char* suffix : {".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"})
    if (name.ends_with(suffix)) return FileFormat::jsonl;
  for (const char* suffix : {".csv", ".csv.gz"})
    if (name.ends_with(suffix)) return FileFormat::csv;
  return FileFormat::unknown;
}

// aclImdb has fixed classes; a caller that expects others has mixed up its data.
TextDataset checked_aclimdb(TextDataset dataset, const std::string& path, const std::vector<std::string>& class_names) {
  if (!class_names.empty() && class_names != dataset.class_names)
    fail("{}: the aclImdb classes (neg, pos) differ from the expected classes ({} of them)", path, class_names.size());
  return dataset;
}

TextDataset load_text_file(const fs::path& path, FileFormat format, const std::vector<std::string>& class_names) {
  return format == FileFormat::jsonl ? load_jsonl(path.string(), class_names) : load_csv(path.string(), class_names);
}

// A JSONL/CSV file holds one split, named by the part of its file name before the first dot.
TextDataset load_split_file(const fs::path& path, FileFormat format, const std::string& split,
                            const std::vector<std::string>& class_names) {
  const std::string name = path.filename().string();
  const std::size_t dot = name.find('.');
  const std::string file_split = name.substr(0, dot);
  static const std::vector<std::string> split_names = {"train", "test", "validation", "valid", "dev"};
  if (std::find(split_names.begin(), split_names.end(), file_split) == split_names.end()) {
    if (split == "train") return load_text_file(path, format, class_names);
    fail("{}: a data file not named after a split holds the train split only; for a {} split, name the files "
         "train{} and {}{} side by side (or pass a directory holding them)",
         path.string(), split, name.substr(dot), split, name.substr(dot));
  }
  if (file_split == split) return load_text_file(path, format, class_names);
  const fs::path sibling = path.parent_path() / (split + name.substr(dot));
  if (!fs::exists(sibling)) fail("{}: there is no {} split: {} does not exist", path.string(), split, sibling.string());
  return load_text_file(sibling, format, class_names);
}

}  // namespace

TextDataset load_dataset(const std::string& path, const std::string& split, const std::vector<std::string>& class_names) {
  const fs::path location(path);
  if (!fs::exists(location)) fail("{}: no such file or directory", path);
  if (fs::is_directory(location)) {
    if (fs::is_directory(location / "aclImdb") || fs::is_directory(location / "train") || fs::is_directory(location / "test"))
      return checked_aclimdb(load_aclimdb_directory(path, split), path, class_names);
    for (const char* suffix : {".jsonl.gz", ".jsonl", ".ndjson.gz", ".ndjson", ".csv", ".csv.gz"}) {
      const fs::path candidate = location / (split + suffix);
      if (fs::is_regular_file(candidate)) return load_text_file(candidate, format_of(candidate.string()), class_names);
    }
    if (const fs::path archive = location / "aclImdb_v1.tar.gz"; fs::is_regular_file(archive))
      return checked_aclimdb(load_aclimdb_archive(archive.string(), split), path, class_names);
    fail("{}: no {} split here: expected an aclImdb/ folder, {}.jsonl[.gz], {}.csv or aclImdb_v1.tar.gz", path, split, split, split);
  }
  const FileFormat format = format_of(location.filename().string());
  switch (format) {
    case FileFormat::archive:
      return checked_aclimdb(load_aclimdb_archive(path, split), path, class_names);
    case FileFormat::jsonl:
    case FileFormat::csv:
      return load_split_file(location, format, split, class_names);
    case FileFormat::unknown:
      break;
  }
  fail("{}: unknown data format (expected an aclImdb directory or .tar.gz, a .jsonl[.gz] or a .csv[.gz] file)", path);
}

std::pair<TextDataset, TextDataset> split_stratified(const TextDataset& dataset, double fraction, std::uint64_t seed) {
  SF_CHECK(fraction >= 0.0 && fraction < 1.0, "split_stratified: fraction must be in [0, 1), got {}", fraction);
  SF_CHECK(dataset.texts.size() == dataset.labels.size(), "split_stratified: {} texts but {} labels", dataset.texts.size(),
           dataset.labels.size());
  std::int32_t classes = static_cast<std::int32_t>(dataset.class_names.size());
  for (const std::int32_t label : dataset.labels) {
    SF_CHECK(label >= 0, "split_stratified: negative label {}", label);
    classes = std::max(classes, label + 1);
  }
  std::vector<std::vector<std::int64_t>> rows_of_class(static_cast<std::size_t>(classes));
  for (std::size_t row = 0; row < dataset.labels.size(); ++row)
    rows_of_class[static_cast<std::size_t>(dataset.labels[row])].push_back(static_cast<std::int64_t>(row));

  // Per class, a partial Fisher-Yates shuffle picks round(fraction × count) rows without bias.
  Generator generator(seed);
  std::vector<char> in_validation(dataset.labels.size(), 0);
  for (std::vector<std::int64_t>& rows : rows_of_class) {
    const auto count = static_cast<std::uint64_t>(rows.size());
    const auto chosen = static_cast<std::uint64_t>(std::llround(fraction * static_cast<double>(count)));
    for (std::uint64_t index = 0; index < chosen; ++index) {
      std::swap(rows[index], rows[index + generator.next_below(count - index)]);
      in_validation[static_cast<std::size_t>(rows[index])] = 1;
    }
  }
  std::pair<TextDataset, TextDataset> result;
  result.first.class_names = result.second.class_names = dataset.class_names;
  for (std::size_t row = 0; row < dataset.labels.size(); ++row) {
    TextDataset& target = in_validation[row] ? result.second : result.first;
    target.texts.push_back(dataset.texts[row]);
    target.labels.push_back(dataset.labels[row]);
  }
  return result;
}

std::vector<std::int64_t> epoch_permutation(std::int64_t count, std::uint64_t seed, std::int64_t epoch) {
  SF_CHECK(count >= 0, "epoch_permutation: count must be non-negative, got {}", count);
  Generator generator = Generator(seed).fork(static_cast<std::uint64_t>(epoch));
  std::vector<std::int64_t> order(static_cast<std::size_t>(count));
  for (std::int64_t index = 0; index < count; ++index) order[static_cast<std::size_t>(index)] = index;
  // Fisher-Yates from the back: position i swaps with a uniform j in [0, i].
  for (std::int64_t index = count - 1; index > 0; --index)
    std::swap(order[static_cast<std::size_t>(index)],
              order[static_cast<std::size_t>(generator.next_below(static_cast<std::uint64_t>(index) + 1))]);
  return order;
}

}  // namespace sf
