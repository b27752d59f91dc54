// Shared by the fuzz harnesses: the one rule they check, and a scratch file for the readers that
// take a path.
//
// The rule: bad input gets an sf::Error (a clear message) and nothing else: no crash, no hang, no
// sanitizer report, and no other exception (a std::out_of_range or a JSON library exception
// escaping means some input is not checked with a message of ours). Any of those stops the
// fuzzer and saves the input.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sf/core/error.hpp"

namespace sf::fuzz {

template <class Body>
void expect_only_clear_errors(Body&& body) {
  try {
    body();
  } catch (const sf::Error&) {
    // the expected answer to bad input
  }
}

inline std::string_view bytes_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A file in $TMPDIR (or /tmp) holding the input, named with `suffix` (the readers look at it),
// removed at scope exit. One per process, rewritten for every input.
class ScratchFile {
 public:
  ScratchFile(std::string_view bytes, const std::string& suffix) {
    const char* folder = std::getenv("TMPDIR");
    path_ = std::string(folder && *folder ? folder : "/tmp") + "/sf-fuzz-" + std::to_string(::getpid()) + suffix;
    std::FILE* file = std::fopen(path_.c_str(), "wb");
    if (!file) std::abort();  // the harness's own failure, not the code's
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) std::abort();
    std::fclose(file);
  }
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace sf::fuzz
