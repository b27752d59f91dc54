// The file handling under the safetensors reader and writer (internal to sf_nn): the atomic
// writer (sf/nn/atomic_file.hpp) and a positioned reader, on POSIX calls.
#pragma once

#include <cstdint>
#include <string>

#include "sf/nn/atomic_file.hpp"

namespace sf::safetensors_io {

using nn::AtomicFileWriter;  // sf/nn/atomic_file.hpp

// A regular file opened for reading at given offsets. Errors start with `context`.
class InputFile {
 public:
  InputFile(const std::string& path, std::string context);
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  std::uint64_t size() const { return size_; }
  // Reads exactly `bytes` bytes at `offset`, or throws.
  void read(void* buffer, std::uint64_t bytes, std::uint64_t offset);

 private:
  std::string context_;
  int descriptor_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace sf::safetensors_io
