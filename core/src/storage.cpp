#include "sf/core/storage.hpp"

#include <cstdlib>
#include <new>

namespace sf {
namespace {
std::atomic<std::int64_t> live_storage_bytes{0};
}

Storage::Storage(std::size_t bytes) : bytes_(bytes) {
  // aligned_alloc needs a size that is a multiple of the alignment; never allocate 0 bytes.
  const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  data_ = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
  if (data_ == nullptr) throw std::bad_alloc();
  live_storage_bytes.fetch_add(static_cast<std::int64_t>(bytes_), std::memory_order_relaxed);
}

Storage::~Storage() {
  std::free(data_);
  live_storage_bytes.fetch_sub(static_cast<std::int64_t>(bytes_), std::memory_order_relaxed);
}

std::int64_t Storage::live_bytes() { return live_storage_bytes.load(std::memory_order_relaxed); }

}  // namespace sf
