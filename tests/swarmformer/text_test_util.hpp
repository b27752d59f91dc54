// Helpers of the text-pipeline tests: where the shared data lives, and scratch folders.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "sf/core/error.hpp"

namespace sf::test {

// The project's shared data: $SF_DATA_DIR, else <source>/../shared/data.
inline std::filesystem::path shared_data_directory() {
  if (const char* directory = std::getenv("SF_DATA_DIR"); directory && *directory) return directory;
  return std::filesystem::path(SF_SOURCE_DIR) / ".." / "shared" / "data";
}

inline std::filesystem::path bert_vocabulary_path() {
  return shared_data_directory() / "vocab" / "bert-base-uncased-vocab.txt";
}

// A fresh folder under the system temp directory, removed with everything in it at scope exit.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sf-text-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) fail("cannot create a temporary directory from {}", pattern);
    path_ = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes `bytes` to `path`, creating parent folders.
inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream stream(path, std::ios::binary);
  stream.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!stream) fail("cannot write {}", path.string());
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

}  // namespace sf::test
