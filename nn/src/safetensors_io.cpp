// Positioned reading for safetensors (see safetensors_io.hpp).
#include "safetensors_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sf/core/error.hpp"

namespace sf::safetensors_io {
namespace {

// pread moves at most this much per call (Linux caps a call near 2 GiB anyway).
constexpr std::uint64_t kChunkBytes = std::uint64_t{1} << 30;

std::string system_error_text(int error_number = errno) { return std::strerror(error_number); }

}  // namespace

InputFile::InputFile(const std::string& path, std::string context) : context_(std::move(context)) {
  descriptor_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor_ < 0) fail("{}: cannot open: {}", context_, system_error_text());
  struct stat status {};
  if (::fstat(descriptor_, &status) != 0) {
    const std::string reason = system_error_text();
    ::close(descriptor_);
    fail("{}: cannot stat: {}", context_, reason);
  }
  if (!S_ISREG(status.st_mode)) {
    ::close(descriptor_);
    fail("{}: not a regular file", context_);
  }
  size_ = static_cast<std::uint64_t>(status.st_size);
}

InputFile::~InputFile() { ::close(descriptor_); }

void InputFile::read(void* buffer, std::uint64_t bytes, std::uint64_t offset) {
  auto* cursor = static_cast<char*>(buffer);
  while (bytes > 0) {
    const ssize_t got =
        ::pread(descriptor_, cursor, static_cast<std::size_t>(std::min(bytes, kChunkBytes)), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail("{}: read error: {}", context_, system_error_text());
    if (got == 0) fail("{}: the file ended at byte {} while reading (truncated while open?)", context_, offset);
    cursor += got;
    offset += static_cast<std::uint64_t>(got);
    bytes -= static_cast<std::uint64_t>(got);
  }
}

}  // namespace sf::safetensors_io
