// Storage: one 64-byte-aligned heap buffer shared by every view of it.
//
// Each storage carries a version counter, bumped by in-place writes; autograd saves the
// version with a tensor and refuses to run a backward that would read modified data.
// A global counter of live bytes lets tests check that backward frees activations.
// Freed buffers are cached for reuse by the next step (storage.cpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sf {

class Storage {
 public:
  static constexpr std::size_t alignment = 64;

  explicit Storage(std::size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }

  std::uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

  // Bytes held by all live Storage objects of the process (not counting the allocator's cache
  // of freed blocks, see storage.cpp).
  static std::int64_t live_bytes();
  // Returns every cached free block to the operating system.
  static void release_cached_blocks();

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace sf
