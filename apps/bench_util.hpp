// Helpers the benchmark programs share: list parsing, thread CPU time, timed calls, the median.
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

namespace sf::bench {

// Allocates on 64-byte lines, as the library's tensors are (Storage::alignment): a large
// std::vector from malloc starts 16 bytes into a page, so every row would sit off its lines.
template <class T>
struct LineAllocator {
  using value_type = T;
  LineAllocator() = default;
  template <class U>
  LineAllocator(const LineAllocator<U>&) {}
  T* allocate(std::size_t count) { return static_cast<T*>(::operator new(count * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* pointer, std::size_t) { ::operator delete(pointer, std::align_val_t{64}); }
  friend bool operator==(const LineAllocator&, const LineAllocator&) { return true; }
};
template <class T>
using LineVector = std::vector<T, LineAllocator<T>>;

// "a,b,,c" -> {"a", "b", "c"}.
inline std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find(separator, begin), text.size());
    if (end > begin) parts.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return parts;
}

// CPU time of the calling thread: peak loops are timed with it, so that other processes sharing
// the machine (which take turns on the cores) do not lower the measured peak.
inline double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// Rounds per CPU second of round() (a peak loop's fixed number of steps), repeated until
// `seconds` of this thread's CPU time have passed. The clock is read once a round: on a virtual
// machine it is a system call (Zen 5 guest, 2026-12-07: read every 4,096 VDPBF16PS steps it cost
// 11% of the loop), so a round should last about 0.1 ms.
template <class Round>
double rounds_per_cpu_second(double seconds, Round&& round) {
  std::int64_t rounds = 0;
  const double start = thread_cpu_seconds();
  double elapsed = 0;
  do {
    round();
    ++rounds;
    elapsed = thread_cpu_seconds() - start;
  } while (elapsed < seconds);
  return static_cast<double>(rounds) / elapsed;
}

// Seconds of each timed call of run(), after one untimed warm-up call (page faults, pack
// buffers, thread pools).
template <class Run>
void time_calls(int calls, std::vector<double>& times, Run&& run) {
  run();
  for (int call = 0; call < calls; ++call) {
    const auto start = std::chrono::steady_clock::now();
    run();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace sf::bench
