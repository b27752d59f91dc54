// Local-attention kernel benchmark: milliseconds per call of the fast forward and backward
// kernels (core/kernels/local_attention.hpp) against the naive reference kernels (scalar loops,
// double accumulators) on the same inputs, in the same run.
//
//   bench_local_attention [--shape B,H,L,Dh,W] [--threads 1] [--repeats 9] [--dtype float32|float64]
//
// The default shape is an enhanced-small layer at batch 48: B 48, H 4, L 256, Dh 32, w 8.
// Inputs are uniform in [-1, 1), every key visible, a relative bias; the backward reads the
// probabilities of the forward. Each figure is the median of --repeats calls after one warm-up
// call (the reference: of max(1, repeats / 3) calls, it is slow).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sf/core/kernels/local_attention.hpp"
#include "sf/core/parallel.hpp"

namespace {

using sf::kernels::LocalAttentionShape;

double median_milliseconds(int repeats, const std::function<void()>& call) {
  call();  // warm-up
  std::vector<double> times;
  for (int repeat = 0; repeat < repeats; ++repeat) {
    const auto start = std::chrono::steady_clock::now();
    call();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

template <class T>
void run(const LocalAttentionShape& shape, int repeats) {
  const std::int64_t n = shape.pairs() * shape.length * shape.head_dimension, band = shape.band();
  std::mt19937 generator(7);
  std::uniform_real_distribution<T> uniform(T(-1), T(1));
  const auto random = [&](std::int64_t count) {
    std::vector<T> values(static_cast<std::size_t>(count));
    for (T& value : values) value = uniform(generator);
    return values;
  };
  const std::vector<T> q = random(n), k = random(n), v = random(n), upstream = random(n), bias = random(shape.heads * band);
  std::vector<T> probabilities(static_cast<std::size_t>(shape.pairs() * shape.length * band)), output(q.size());
  std::vector<T> dq(q.size()), dk(q.size()), dv(q.size()), dbias(static_cast<std::size_t>(shape.pairs() * band));
  const T scale = static_cast<T>(0.17);
  const auto forward = [&](bool reference) {
    (reference ? sf::kernels::local_attention_forward_reference<T> : sf::kernels::local_attention_forward<T>)(
        shape, q.data(), k.data(), v.data(), bias.data(), nullptr, scale, probabilities.data(), output.data());
  };
  const auto backward = [&](bool reference) {
    (reference ? sf::kernels::local_attention_backward_reference<T> : sf::kernels::local_attention_backward<T>)(
        shape, q.data(), k.data(), v.data(), probabilities.data(), upstream.data(), scale, dq.data(), dk.data(),
        dv.data(), dbias.data());
  };
  const int reference_repeats = std::max(1, repeats / 3);
  std::printf("%-8s %12s %16s %8s\n", "kernel", "fast ms", "reference ms", "ratio");
  for (const bool is_backward : {false, true}) {
    const auto call = is_backward ? std::function<void(bool)>(backward) : std::function<void(bool)>(forward);
    const double fast = median_milliseconds(repeats, [&] { call(false); });
    const double slow = median_milliseconds(reference_repeats, [&] { call(true); });
    std::printf("%-8s %12.2f %16.2f %7.1fx\n", is_backward ? "backward" : "forward", fast, slow, slow / fast);
  }
}

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr, "bench_local_attention: %s\nusage: bench_local_attention [--shape B,H,L,Dh,W] [--threads N] "
               "[--repeats N] [--dtype float32|float64]\n", problem.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  LocalAttentionShape shape{48, 4, 256, 32, 8};
  int threads = 1, repeats = 9;
  std::string dtype = "float32";
  for (int index = 1; index < argc; ++index) {
    const std::string option = argv[index];
    if (index + 1 >= argc) usage("missing value after " + option);
    const std::string value = argv[++index];
    if (option == "--shape") {
      std::istringstream fields(value);
      std::vector<std::int64_t> sizes;
      for (std::string field; std::getline(fields, field, ',');) sizes.push_back(std::atoll(field.c_str()));
      if (sizes.size() != 5 || std::any_of(sizes.begin(), sizes.begin() + 4, [](std::int64_t s) { return s <= 0; }) ||
          sizes[4] < 0)
        usage("--shape wants B,H,L,Dh,W (positive, W ≥ 0), got '" + value + "'");
      shape = {sizes[0], sizes[1], sizes[2], sizes[3], sizes[4]};
    } else if (option == "--threads") {
      threads = std::atoi(value.c_str());
      if (threads <= 0) usage("--threads wants a positive count, got '" + value + "'");
    } else if (option == "--repeats") {
      repeats = std::atoi(value.c_str());
      if (repeats <= 0) usage("--repeats wants a positive count, got '" + value + "'");
    } else if (option == "--dtype") {
      dtype = value;
      if (dtype != "float32" && dtype != "float64") usage("--dtype is float32 or float64, got '" + value + "'");
    } else {
      usage("unknown option " + option);
    }
  }
  sf::parallel::ThreadCountGuard guard(threads);
  std::printf("local attention B %lld H %lld L %lld Dh %lld w %lld, %s, %d thread(s), median of %d\n",
              static_cast<long long>(shape.batch), static_cast<long long>(shape.heads),
              static_cast<long long>(shape.length), static_cast<long long>(shape.head_dimension),
              static_cast<long long>(shape.window), dtype.c_str(), threads, repeats);
  if (dtype == "float32") run<float>(shape, repeats);
  else run<double>(shape, repeats);
  return 0;
}
