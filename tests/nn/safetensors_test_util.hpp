// Helpers of the safetensors tests: a self-removing temporary directory and raw file builders,
// so the tests can write exactly the bytes a broken or foreign file would hold.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace sf::test {

class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("sf_test_safetensors_{}_{}", ::getpid(), counter.fetch_add(1));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ignored);
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

  // Names of the entries that look like leftovers of an interrupted atomic write.
  std::vector<std::string> temporary_leftovers() const {
    std::vector<std::string> leftovers;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      const std::string name = entry.path().filename().string();
      if (name.find(".tmp-") != std::string::npos) leftovers.push_back(name);
    }
    return leftovers;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

// Removes the old file first: ext4 flushes a truncated-and-rewritten file to disk on close
// (auto_da_alloc), which made the many rewrites of the corruption test slow.
inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::filesystem::remove(path);
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// 8-byte little-endian length + header text + data, as any safetensors writer would produce.
inline std::string raw_safetensors(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  const std::uint64_t length = header.size();
  for (int index = 0; index < 8; ++index) bytes[index] = static_cast<char>((length >> (8 * index)) & 0xff);
  return bytes + header + data;
}

template <class T>
std::string value_bytes(const std::vector<T>& values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

// The header length stored in a file's first 8 bytes.
inline std::uint64_t stored_header_length(const std::string& bytes) {
  std::uint64_t length = 0;
  for (int index = 7; index >= 0; --index) length = (length << 8) | static_cast<unsigned char>(bytes[index]);
  return length;
}

}  // namespace sf::test
