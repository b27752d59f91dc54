// The atomic file writer (atomic_file.hpp).
#include "sf/nn/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sf/core/error.hpp"

namespace sf::nn {
namespace {

// write moves at most this much per call (Linux caps a call near 2 GiB anyway).
constexpr std::uint64_t kChunkBytes = std::uint64_t{1} << 30;

std::string system_error_text(int error_number = errno) { return std::strerror(error_number); }

// fsync the directory so the rename itself survives a crash. Filesystems that cannot sync a
// directory answer EINVAL; the file is in place then and nothing more can be done.
void sync_directory(const std::string& file_path, const std::string& context) {
  const std::filesystem::path parent = std::filesystem::path(file_path).parent_path();
  const std::string directory = parent.empty() ? std::string(".") : parent.string();
  const int descriptor = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (descriptor < 0) fail("{}: cannot open directory '{}': {}", context, directory, system_error_text());
  const int result = ::fsync(descriptor);
  const int saved_errno = errno;
  ::close(descriptor);
  if (result != 0 && saved_errno != EINVAL && saved_errno != ENOTSUP)
    fail("{}: cannot fsync directory '{}': {}", context, directory, system_error_text(saved_errno));
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string final_path, std::string context)
    : final_path_(std::move(final_path)), context_(std::move(context)) {
  // One sequence number per writer, so concurrent saves from this process never share a name;
  // O_TRUNC reuses a stale temporary left by a crashed process that had the same pid.
  static std::atomic<std::uint64_t> sequence{0};
  temporary_path_ = fmt::format("{}.tmp-{}-{}", final_path_, ::getpid(), sequence.fetch_add(1));
  descriptor_ = ::open(temporary_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (descriptor_ < 0) fail("{}: cannot create '{}': {}", context_, temporary_path_, system_error_text());
}

AtomicFileWriter::~AtomicFileWriter() {
  if (descriptor_ >= 0) ::close(descriptor_);
  if (!renamed_) ::unlink(temporary_path_.c_str());
}

void AtomicFileWriter::write(const void* data, std::uint64_t bytes) {
  const auto* cursor = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t written = ::write(descriptor_, cursor, static_cast<std::size_t>(std::min(bytes, kChunkBytes)));
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("{}: cannot write '{}': {}", context_, temporary_path_, system_error_text());
    }
    cursor += written;
    bytes -= static_cast<std::uint64_t>(written);
  }
}

// fsync before rename: otherwise a crash right after the rename can leave the real name
// pointing at a file whose data never reached the disk.
void AtomicFileWriter::commit() {
  if (::fsync(descriptor_) != 0) fail("{}: cannot fsync '{}': {}", context_, temporary_path_, system_error_text());
  const int result = ::close(descriptor_);
  descriptor_ = -1;
  if (result != 0) fail("{}: cannot close '{}': {}", context_, temporary_path_, system_error_text());
  if (::rename(temporary_path_.c_str(), final_path_.c_str()) != 0)
    fail("{}: cannot rename '{}' to '{}': {}", context_, temporary_path_, final_path_, system_error_text());
  renamed_ = true;
  sync_directory(final_path_, context_);
}

void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& context) {
  AtomicFileWriter file(path, context);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

}  // namespace sf::nn
