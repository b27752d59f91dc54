// The file handling under the safetensors reader and writer (internal to sf_nn): an atomic
// writer (temporary file, fsync, rename, directory fsync) and a positioned reader. POSIX calls
// rather than iostreams, because the atomic protocol needs fsync on the file and the directory.
#pragma once

#include <cstdint>
#include <string>

namespace sf::safetensors_io {

// Writes a file under "<final_path>.tmp-<pid>-<sequence>" in the final directory. commit()
// makes it the final file; without commit (an exception, an early return) the destructor
// removes the temporary, so <final_path> keeps whatever it held before. Errors are sf::Error
// messages starting with `context`.
class AtomicFileWriter {
 public:
  AtomicFileWriter(std::string final_path, std::string context);
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  void write(const void* data, std::uint64_t bytes);
  // fsync, close, rename over the final path, fsync the directory.
  void commit();

 private:
  std::string final_path_;
  std::string temporary_path_;
  std::string context_;
  int descriptor_ = -1;
  bool renamed_ = false;
};

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
