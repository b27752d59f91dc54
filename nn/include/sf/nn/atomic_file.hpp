// Writing a file so that nobody ever sees half of it: a temporary file in the same folder,
// fsync, rename over the final name, fsync of the folder. A failure (a full disk, a file-size
// limit, an exception on the way) removes the temporary and leaves the final name with whatever
// it held before. Checkpoints, reports, configs and the token cache are all written this way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sf::nn {

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

// One call: `bytes` become the file `path`. Errors are sf::Error messages starting with `context`
// (e.g. "write report.json") and naming the file and the system's reason.
void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& context);

}  // namespace sf::nn
