#include "sf/core/parallel.hpp"

#include <tbb/global_control.h>
#include <tbb/info.h>

#include <atomic>
#include <memory>
#include <mutex>

namespace sf::parallel {
namespace {
std::mutex control_mutex;
std::unique_ptr<tbb::global_control> control;
std::atomic<int> thread_count{0};
thread_local bool serial_mode = false;  // per thread (parallel.hpp)
}  // namespace

void set_num_threads(int threads) {
  std::lock_guard<std::mutex> lock(control_mutex);
  if (threads <= 0) threads = tbb::info::default_concurrency();
  control.reset();
  control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                  static_cast<std::size_t>(threads));
  thread_count.store(threads);
}

int num_threads() {
  const int threads = thread_count.load();
  if (threads > 0) return threads;
  return static_cast<int>(tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
}

void set_serial(bool serial) { serial_mode = serial; }
bool serial() { return serial_mode; }

}  // namespace sf::parallel
