// The parallel layer: every use of oneTBB in the project goes through this header.
//
// Determinism rule: results must be bit-identical for any thread count. So
// - parallel_for bodies write disjoint output ranges and compute each output element the
//   same way wherever the range is split (kernels handle tails with the same SIMD code as
//   full vectors, see kernels/simd.hpp);
// - reductions use parallel_reduce_fixed: the range is cut into chunks of a fixed size that
//   does not depend on the thread count, chunk results are combined left to right.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <cstdint>
#include <vector>

namespace sf::parallel {

// Grain sizes, all in one place. A grain is the smallest piece of work given to one task.
namespace grain {
inline constexpr std::int64_t elementwise = 1 << 15;  // elements of a unary/binary map
inline constexpr std::int64_t reduction = 1 << 14;    // elements per fixed reduction chunk
inline constexpr std::int64_t row_elements = 1 << 14; // target elements per task for row kernels
inline constexpr std::int64_t gemm_tiles = 1;         // C tiles per task in the GEMM
}  // namespace grain

// Sets the number of worker threads for the whole process (0 = all hardware threads).
void set_num_threads(int threads);
int num_threads();
// The serial switch, per thread: while on, every parallel_for called from this thread runs its
// body on this thread, and the GEMM plans for one thread (threads_here). Work that is already
// spread over the threads one piece per task (inference in sub-batches) turns it on inside
// each task, so the kernels under it do not split again. The bits do not change: no result
// depends on the thread count.
void set_serial(bool serial);
bool serial();
// The threads the work started on this thread may use: 1 under the serial switch, else num_threads().
inline int threads_here() { return serial() ? 1 : num_threads(); }

// Rows per task so that each task gets about grain::row_elements elements.
inline std::int64_t rows_grain(std::int64_t row_length) {
  if (row_length <= 0) return 1;
  std::int64_t rows = grain::row_elements / row_length;
  return rows < 1 ? 1 : rows;
}

// body(chunk_begin, chunk_end) over [begin, end), chunks of at least `grain_size`.
template <class Body>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain_size, Body&& body) {
  if (end <= begin) return;
  if (grain_size < 1) grain_size = 1;
  if (end - begin <= grain_size || threads_here() == 1) {
    body(begin, end);
    return;
  }
  tbb::parallel_for(
      tbb::blocked_range<std::int64_t>(begin, end, grain_size),
      [&](const tbb::blocked_range<std::int64_t>& range) { body(range.begin(), range.end()); },
      tbb::simple_partitioner());
}

// Deterministic reduction. [begin, end) is cut into chunks of exactly `chunk` elements
// (the last may be shorter); map(chunk_begin, chunk_end) -> T runs in parallel; the
// partial results are combined left to right on the calling thread.
template <class T, class Map, class Combine>
T parallel_reduce_fixed(std::int64_t begin, std::int64_t end, std::int64_t chunk, T identity, Map&& map,
                        Combine&& combine) {
  if (end <= begin) return identity;
  if (chunk < 1) chunk = 1;
  const std::int64_t chunks = (end - begin + chunk - 1) / chunk;
  std::vector<T> partial(static_cast<std::size_t>(chunks), identity);
  parallel_for(0, chunks, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t index = first; index < last; ++index) {
      const std::int64_t chunk_begin = begin + index * chunk;
      const std::int64_t chunk_end = chunk_begin + chunk < end ? chunk_begin + chunk : end;
      partial[static_cast<std::size_t>(index)] = map(chunk_begin, chunk_end);
    }
  });
  T result = identity;
  for (const T& value : partial) result = combine(result, value);
  return result;
}

// RAII: the serial switch on for this thread, for a scope (restored after, so scopes nest).
class SerialScope {
 public:
  SerialScope() : previous_(serial()) { set_serial(true); }
  ~SerialScope() { set_serial(previous_); }
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  bool previous_;
};

// RAII: sets the thread count for a scope (tests compare 1 vs 2 threads with it).
class ThreadCountGuard {
 public:
  explicit ThreadCountGuard(int threads) : previous_(num_threads()) { set_num_threads(threads); }
  ~ThreadCountGuard() { set_num_threads(previous_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  int previous_;
};

}  // namespace sf::parallel
