// Pieces shared by the dataset loaders (internal header).
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sf/swarmformer/dataset.hpp"

namespace sf::detail {

// A file read sequentially, gunzipped on the fly when it starts with the gzip magic bytes
// (1f 8b), whatever its name. Concatenated gzip members are read as one stream, as gzip does.
// A gzip stream that ends early is an error ("truncated"), never a silently shorter file.
class InputFile {
 public:
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Reads up to `size` bytes; fewer only at the end of the data.
  std::size_t read(char* buffer, std::size_t size);
  // Reads exactly `size` bytes or throws (naming `what`) at the end of the data.
  void read_exactly(char* buffer, std::size_t size, std::string_view what);
  const std::string& path() const { return path_; }

 private:
  std::size_t read_raw(unsigned char* buffer, std::size_t size);
  bool refill();

  std::string path_;
  std::FILE* file_ = nullptr;
  bool gzip_ = false;
  bool stream_open_ = false;
  bool finished_ = false;
  z_stream stream_{};
  std::vector<unsigned char> input_;
  std::uint64_t produced_ = 0;  // uncompressed bytes so far, for error messages
};

// The whole content of a (possibly gzipped) file.
std::string read_file(const std::string& path);

// A label as written in the data: an integer or a class name.
struct RawLabel {
  std::optional<std::int64_t> number;
  std::string name;
};

// Collects rows, enforcing the rules every loader shares: texts must be valid UTF-8; rows with an
// empty text are skipped and counted; labels are integers or class names, not both; with
// `known_classes`, every label must be one of them.
class RowCollector {
 public:
  RowCollector(std::string source, const std::vector<std::string>& known_classes);

  // `location` is "file:line" or "file" for messages. `name_hint`: for integer labels, a class
  // name the row itself suggests (the project's IMDB JSONL "id" field), or empty.
  void add(std::string text, const RawLabel& label, const std::string& location, std::string_view name_hint = {});
  // Resolves the labels, prints the skipped-rows warning (once), and returns the dataset.
  TextDataset finish();

 private:
  std::string source_;
  std::vector<std::string> known_classes_;
  TextDataset dataset_;
  std::vector<std::string> label_names_;  // string labels, resolved in finish()
  std::vector<std::string> name_hints_;
  bool numeric_ = false, named_ = false, hints_complete_ = true;
  std::int64_t largest_label_ = -1;
  std::int64_t skipped_ = 0;
  std::string first_skipped_;
};

// Loader of aclImdb files in memory: (label, file name, content) -> sorted rows.
struct AclImdbFile {
  std::int32_t label;  // 0 neg, 1 pos
  std::string name;    // the file name, e.g. 123_9.txt
  std::string location;
  std::string text;
};
// Sorts by (label, numeric id, name), the order of the project's JSONL files, and builds the dataset.
TextDataset aclimdb_dataset(std::vector<AclImdbFile> files, const std::string& source);

std::string lower_case_ascii(std::string_view text);

// Streams a tar (or tar.gz) archive: take(name, data) for every regular member whose name
// wanted(name) accepts, in archive order (GNU long names and pax paths resolved), read by
// libarchive. Errors name the archive, and the member where there is one.
void read_tar(const std::string& path, const std::function<bool(const std::string& name)>& wanted,
              const std::function<void(const std::string& name, std::string data)>& take);

}  // namespace sf::detail
