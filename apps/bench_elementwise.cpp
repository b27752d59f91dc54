// Elementwise bandwidth benchmark: GB/s of the memory-bound kernels against memcpy moving the
// same number of bytes, at 1 and 2 threads.
//
//   bench_elementwise [--csv] [--sizes 262144,16777216] [--threads 1,2] [--repeats 7]
//
// Every case runs the pointer kernel (core/kernels) on preallocated, pre-touched float32 buffers,
// so it measures the kernel and not allocation or page faults. "Bytes" are the logical traffic:
// each input read once plus each output written once (softmax and layer norm make two or three
// passes over a row, which stay in cache for rows of 1024). The memcpy baseline copies half that
// many bytes (its traffic is then the same: one read + one write), split over the same threads.
// Each number is the median of --repeats timed runs after one warm-up run (kernel and memcpy runs
// alternate, so both see the same background load); a run repeats the call enough times to last
// about 20 ms.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "sf/core/error.hpp"
#include "sf/core/kernels/elementwise.hpp"
#include "sf/core/kernels/layer_norm.hpp"
#include "sf/core/kernels/random_bits.hpp"
#include "sf/core/kernels/softmax.hpp"
#include "sf/core/parallel.hpp"
#include "sf/core/random.hpp"
#include "sf/core/tensor.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  bool csv = false;
  std::vector<std::int64_t> sizes = {262144, 16777216};
  std::vector<int> threads = {1, 2};
  int repeats = 7;
};

std::vector<std::int64_t> parse_list(const std::string& text) {
  std::vector<std::int64_t> values;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) values.push_back(std::stoll(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return values;
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int index = 1; index < argc; ++index) {
    const std::string argument = argv[index];
    auto value = [&]() -> std::string {
      if (index + 1 >= argc) sf::fail("bench_elementwise: {} needs a value", argument);
      return argv[++index];
    };
    if (argument == "--csv") {
      options.csv = true;
    } else if (argument == "--sizes") {
      options.sizes = parse_list(value());
    } else if (argument == "--threads") {
      options.threads.clear();
      for (std::int64_t count : parse_list(value())) options.threads.push_back(static_cast<int>(count));
    } else if (argument == "--repeats") {
      options.repeats = std::max(1, std::stoi(value()));
    } else {
      sf::fail("bench_elementwise: unknown argument {} (use --csv, --sizes a,b, --threads a,b, --repeats n)", argument);
    }
  }
  return options;
}

// Median seconds per call of `kernel` and of `baseline`, timed alternately (so that both see the
// same background load) over `repeats` runs after one warm-up run each; a run makes `calls` calls.
std::pair<double, double> median_seconds(const std::function<void()>& kernel, const std::function<void()>& baseline,
                                         int calls, int repeats) {
  auto time_run = [calls](const std::function<void()>& body) {
    const auto start = Clock::now();
    for (int call = 0; call < calls; ++call) body();
    return std::chrono::duration<double>(Clock::now() - start).count() / calls;
  };
  kernel();
  baseline();
  std::vector<double> kernel_seconds, baseline_seconds;
  for (int repeat = 0; repeat < repeats; ++repeat) {
    kernel_seconds.push_back(time_run(kernel));
    baseline_seconds.push_back(time_run(baseline));
  }
  std::sort(kernel_seconds.begin(), kernel_seconds.end());
  std::sort(baseline_seconds.begin(), baseline_seconds.end());
  return {kernel_seconds[kernel_seconds.size() / 2], baseline_seconds[baseline_seconds.size() / 2]};
}

// memcpy of `bytes` split into the same parallel chunks as the kernels use.
void parallel_copy(char* destination, const char* source, std::int64_t bytes) {
  const std::int64_t grain = sf::parallel::grain::elementwise * static_cast<std::int64_t>(sizeof(float));
  sf::parallel::parallel_for(0, bytes, grain, [&](std::int64_t begin, std::int64_t end) {
    std::memcpy(destination + begin, source + begin, static_cast<std::size_t>(end - begin));
  });
}

// The byte mask from a float dropout mask, in parallel (as compute::to_byte_mask does).
void keep_bytes(const float* mask, std::uint8_t* keep, std::int64_t count) {
  sf::parallel::parallel_for(0, count, sf::parallel::grain::elementwise, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) keep[i] = mask[i] != 0.0f ? 1 : 0;
  });
}

struct Case {
  std::string name;
  std::int64_t bytes;            // logical traffic of one call
  std::function<void()> run;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse_options(argc, argv);
    if (options.csv)
      std::printf("op,elements,threads,bytes,milliseconds,gb_per_s,memcpy_gb_per_s,ratio\n");
    else
      std::printf("%-12s %10s %7s %10s %10s %9s %12s %7s\n", "op", "elements", "threads", "MB", "ms", "GB/s",
                  "memcpy GB/s", "ratio");
    for (std::int64_t n : options.sizes) {
      sf::Generator generator(2024);
      // Inputs in [-3, 3]: inside every function's interesting range, no overflow in exp.
      const sf::Tensor a = sf::uniform({n}, generator, -3.0, 3.0), b = sf::uniform({n}, generator, 0.5, 3.0);
      sf::Tensor out = sf::Tensor::zeros({n});
      const std::int64_t D = std::min<std::int64_t>(1024, n), rows = n / D;
      const sf::Tensor weight = sf::uniform({D}, generator, 0.5, 1.5), bias = sf::uniform({D}, generator);
      sf::Tensor mean = sf::Tensor::zeros({rows}), inverse_std = sf::Tensor::zeros({rows});
      const std::int64_t copy_bytes_max = 2 * n * static_cast<std::int64_t>(sizeof(float));
      std::vector<char> copy_source(static_cast<std::size_t>(copy_bytes_max), 1),
          copy_destination(static_cast<std::size_t>(copy_bytes_max), 0);
      const float* x = a.data<float>();
      const float* y = b.data<float>();
      float* z = out.data<float>();
      const std::int64_t array_bytes = n * static_cast<std::int64_t>(sizeof(float));
      const std::uint64_t keep_threshold = static_cast<std::uint64_t>(0.9 * 4294967296.0);
      const float kept = 1.0f / 0.9f;
      std::vector<float> mask(static_cast<std::size_t>(n));
      std::vector<std::uint8_t> keep(static_cast<std::size_t>(n));
      using sf::kernels::Binary;
      using sf::kernels::Unary;
      const std::vector<Case> cases = {
          {"add", 3 * array_bytes, [&] { sf::kernels::binary(Binary::Add, x, 1, y, 1, z, n); }},
          {"mul", 3 * array_bytes, [&] { sf::kernels::binary(Binary::Multiply, x, 1, y, 1, z, n); }},
          {"exp", 2 * array_bytes, [&] { sf::kernels::unary(Unary::Exp, x, z, n); }},
          {"gelu_tanh", 2 * array_bytes, [&] { sf::kernels::unary(Unary::GeluTanh, x, z, n); }},
          {"gelu_erf", 2 * array_bytes, [&] { sf::kernels::unary(Unary::GeluErf, x, z, n); }},
          // Dropout (p = 0.1) as the autograd op runs it: y = x ⊙ mask and the byte mask kept for
          // backward, in one pass, against the three passes it replaced (the float mask, the
          // product, the bytes). Both count the same logical traffic: x read, y and bytes written.
          {"dropout", 2 * array_bytes + n,
           [&] { sf::kernels::dropout_apply<float>(7, 0, 0, keep_threshold, kept, x, z, keep.data(), n); }},
          {"dropout_3pass", 2 * array_bytes + n,
           [&] {
             sf::kernels::dropout_mask<float>(7, 0, 0, keep_threshold, kept, mask.data(), n);
             sf::kernels::binary(Binary::Multiply, x, 1, mask.data(), 1, z, n);
             keep_bytes(mask.data(), keep.data(), n);
           }},
          {"softmax", 2 * rows * D * 4, [&] { sf::kernels::softmax(x, z, rows, D); }},
          {"layer_norm", 2 * rows * D * 4,
           [&] {
             sf::kernels::layer_norm(x, weight.data<float>(), bias.data<float>(), rows, D, 1e-5f, z,
                                     mean.data<float>(), inverse_std.data<float>());
           }},
      };
      // Enough calls per timed run to last ~20 ms at ~10 GB/s.
      const int calls = static_cast<int>(std::max<std::int64_t>(1, 200'000'000 / (3 * array_bytes)));
      for (int threads : options.threads) {
        sf::parallel::ThreadCountGuard guard(threads);
        for (const Case& example : cases) {
          const std::int64_t half = example.bytes / 2;
          const auto [seconds, copy_seconds] = median_seconds(
              example.run, [&] { parallel_copy(copy_destination.data(), copy_source.data(), half); }, calls,
              options.repeats);
          const double rate = static_cast<double>(example.bytes) / seconds / 1e9;
          const double copy_rate = static_cast<double>(2 * half) / copy_seconds / 1e9;
          if (options.csv)
            std::printf("%s,%lld,%d,%lld,%.4f,%.2f,%.2f,%.3f\n", example.name.c_str(), static_cast<long long>(n), threads,
                        static_cast<long long>(example.bytes), seconds * 1e3, rate, copy_rate, rate / copy_rate);
          else
            std::printf("%-12s %10lld %7d %10.2f %10.4f %9.2f %12.2f %7.3f\n", example.name.c_str(),
                        static_cast<long long>(n), threads, static_cast<double>(example.bytes) / 1e6, seconds * 1e3,
                        rate, copy_rate, rate / copy_rate);
          std::fflush(stdout);
        }
      }
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 1;
  }
  return 0;
}
