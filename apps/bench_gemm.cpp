// bench_gemm: our GEMM against OpenBLAS cblas_sgemm, same process, same thread count.
//
//   bench_gemm [--csv] [--variant naive|blocked|packed|threaded] [--threads 1,2]
//              [--sizes 256,512,8192x128x128] [--ops NN,NT,TN] [--repetitions 9]
//   bench_gemm --back-to-back 60 [--threads 2] [--sizes 512]   (ours only: spread over calls in a row)
//
// Every case is (M, N, K, op, threads) with C[M, N] = op(A)·op(B), float32, alpha 1, beta 0;
// op "NT" means B is stored transposed ([N, K]), "TN" that A is ([K, M]). Each side is warmed up,
// then timed `repetitions` times (at least 5; 15 for cases under 1 GFLOP), in three rounds that
// alternate between the libraries with a pause between them, so the idle spinning of one
// library's worker threads does not steal the cores of the other (this machine has two). The
// median time gives GFLOP/s = 2·M·N·K / time.
// The baseline is OpenBLAS's best kernel for this CPU: Debian's OpenBLAS 0.3.21 does not know
// AMD Zen 4/5 and falls back to its AVX2 (Haswell) kernels, half the vector width of ours. When
// the CPU has AVX-512 and OPENBLAS_CORETYPE is unset, bench_gemm sets it to SkylakeX (OpenBLAS's
// AVX-512 sgemm) and starts itself again, since OpenBLAS picks its core when it is loaded.
// Set OPENBLAS_CORETYPE yourself to compare against another core.
// pct_peak compares ours with the fp32 FMA peak measured at the same thread count (an FMA loop
// timed in CPU time, so it is the peak of the cores, whatever else runs on the machine).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "bench_util.hpp"
#include "sf/core/kernels/gemm.hpp"
#include "sf/core/kernels/gemm_config.hpp"
#include "sf/core/parallel.hpp"

namespace {

using sf::bench::median;
using sf::bench::split;
using sf::bench::time_calls;
using sf::kernels::GemmVariant;
using sf::kernels::Transpose;

struct Case {
  std::int64_t M, N, K;
};

struct Options {
  bool csv = false;
  GemmVariant variant = GemmVariant::Threaded;
  std::vector<int> threads = {1, 2};
  std::vector<Case> sizes = {{256, 256, 256},  {512, 512, 512},  {1024, 1024, 1024}, {2048, 2048, 2048},
                             {8192, 128, 128}, {8192, 512, 128}, {8192, 128, 512},   {128, 128, 8192}};
  std::vector<std::string> ops = {"NN", "NT", "TN"};
  int repetitions = 9;
  int back_to_back = 0;  // > 0: ours only, this many calls in a row, the spread of GFLOP/s
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr,
               "bench_gemm: %s\nusage: bench_gemm [--csv] [--variant naive|blocked|packed|threaded] "
               "[--threads 1,2] [--sizes 256,8192x128x128] [--ops NN,NT,TN] [--repetitions 9] [--back-to-back CALLS]\n",
               message.c_str());
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int index = 1; index < argc; ++index) {
    const std::string_view argument = argv[index];
    const auto value = [&]() -> std::string {
      if (index + 1 >= argc) usage_error(std::string(argument) + " needs a value");
      return argv[++index];
    };
    if (argument == "--csv") {
      options.csv = true;
    } else if (argument == "--back-to-back") {
      options.back_to_back = std::max(1, std::stoi(value()));
    } else if (argument == "--variant") {
      try {
        options.variant = sf::kernels::parse_gemm_variant(value().c_str());
      } catch (const std::exception& error) {
        usage_error(error.what());
      }
    } else if (argument == "--threads") {
      options.threads.clear();
      for (const std::string& part : split(value(), ',')) options.threads.push_back(std::max(1, std::stoi(part)));
    } else if (argument == "--sizes") {
      options.sizes.clear();
      for (const std::string& part : split(value(), ',')) {
        const std::vector<std::string> dims = split(part, 'x');
        if (dims.size() == 1) {
          const std::int64_t size = std::stoll(dims[0]);
          options.sizes.push_back({size, size, size});
        } else if (dims.size() == 3) {
          options.sizes.push_back({std::stoll(dims[0]), std::stoll(dims[1]), std::stoll(dims[2])});
        } else {
          usage_error("a size is S or MxNxK, got " + part);
        }
      }
    } else if (argument == "--ops") {
      options.ops = split(value(), ',');
      for (const std::string& op : options.ops)
        if (op != "NN" && op != "NT" && op != "TN" && op != "TT") usage_error("unknown op " + op);
    } else if (argument == "--repetitions") {
      options.repetitions = std::max(5, std::stoi(value()));
    } else {
      usage_error("unknown option " + std::string(argument));
    }
  }
  return options;
}

// fp32 FMA throughput of one thread: 16 independent accumulator chains (more than the
// latency × throughput product of any current core), each step one FMA per chain.
double fma_gflops_one_thread(double seconds) {
  using Batch = xsimd::batch<float>;
  constexpr int chains = 16;
  Batch accumulators[chains];
  for (int chain = 0; chain < chains; ++chain) accumulators[chain] = Batch(1.0f + 1e-3f * chain);
  const Batch multiplier(0.999999f), addend(1e-7f);
  constexpr std::int64_t steps_per_round = 1 << 16;
  const double rounds_per_second = sf::bench::rounds_per_cpu_second(seconds, [&] {
    for (std::int64_t step = 0; step < steps_per_round; ++step) {
#pragma GCC unroll 16
      for (int chain = 0; chain < chains; ++chain)
        accumulators[chain] = xsimd::fma(accumulators[chain], multiplier, addend);
    }
  });
  Batch total(0.0f);
  for (int chain = 0; chain < chains; ++chain) total += accumulators[chain];
  volatile float sink = xsimd::hadd(total);
  (void)sink;
  return 2.0 * chains * Batch::size * steps_per_round * rounds_per_second / 1e9;
}

// Peak of `threads` threads running the FMA loop at once (the sum of their rates, each per
// second of its own CPU time).
double fma_peak_gflops(int threads) {
  std::vector<double> rates(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int thread = 0; thread < threads; ++thread)
    workers.emplace_back([&rates, thread] { rates[static_cast<std::size_t>(thread)] = fma_gflops_one_thread(0.3); });
  for (std::thread& worker : workers) worker.join();
  double total = 0;
  for (double rate : rates) total += rate;
  return total;
}

void fill_random(std::vector<float>& values, std::uint64_t seed) {
  std::uint64_t state = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (float& value : values) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    value = static_cast<float>(static_cast<double>(state >> 40) / double(1ull << 24) * 2.0 - 1.0);
  }
}

struct Result {
  double ours_gflops, openblas_gflops, max_difference;
};

Result run_case(const Case& shape, const std::string& op, int threads, const Options& options) {
  const auto [M, N, K] = shape;
  const Transpose transpose_a = op[0] == 'T' ? Transpose::Yes : Transpose::No;
  const Transpose transpose_b = op[1] == 'T' ? Transpose::Yes : Transpose::No;
  const std::int64_t lda = transpose_a == Transpose::No ? K : M, ldb = transpose_b == Transpose::No ? N : K;
  std::vector<float> a(static_cast<std::size_t>(M * K)), b(static_cast<std::size_t>(K * N));
  std::vector<float> c_ours(static_cast<std::size_t>(M * N)), c_openblas(static_cast<std::size_t>(M * N));
  fill_random(a, 1);
  fill_random(b, 2);
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int repetitions = flops < 1e9 ? std::max(options.repetitions, 15) : options.repetitions;

  // Rounds alternate between the two libraries so that load from other processes, which
  // changes over seconds, hits both alike; the pause lets the previous library's worker threads
  // stop spinning (OpenBLAS spins about 2^28 cycles, under 0.1 s, before it sleeps).
  sf::parallel::set_num_threads(threads);
  openblas_set_num_threads(threads);
  std::vector<double> ours_times, openblas_times;
  const int rounds = 3, calls_per_round = (repetitions + rounds - 1) / rounds;
  for (int round = 0; round < rounds; ++round) {
    time_calls(calls_per_round, ours_times, [&] {
      sf::kernels::gemm_variant<float>(options.variant, transpose_a, transpose_b, M, N, K, 1.0f, a.data(), lda,
                                       b.data(), ldb, 0.0f, c_ours.data(), N);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    time_calls(calls_per_round, openblas_times, [&] {
      cblas_sgemm(CblasRowMajor, transpose_a == Transpose::Yes ? CblasTrans : CblasNoTrans,
                  transpose_b == Transpose::Yes ? CblasTrans : CblasNoTrans, static_cast<int>(M),
                  static_cast<int>(N), static_cast<int>(K), 1.0f, a.data(), static_cast<int>(lda), b.data(),
                  static_cast<int>(ldb), 0.0f, c_openblas.data(), static_cast<int>(N));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double ours_seconds = median(ours_times), openblas_seconds = median(openblas_times);
  // Agreement check: the largest difference relative to the largest |C|.
  double largest = 0, difference = 0;
  for (std::size_t index = 0; index < c_ours.size(); ++index) {
    largest = std::max(largest, std::fabs(static_cast<double>(c_openblas[index])));
    difference = std::max(difference, std::fabs(static_cast<double>(c_ours[index]) - c_openblas[index]));
  }
  return {flops / ours_seconds / 1e9, flops / openblas_seconds / 1e9, largest > 0 ? difference / largest : difference};
}

// --back-to-back: our GEMM alone, `calls` calls in a row with no pause, so worker threads stay
// awake; prints the spread of GFLOP/s over the calls (how much of the median is wake-up latency).
void run_back_to_back(const Case& shape, const std::string& op, int threads, const Options& options) {
  const auto [M, N, K] = shape;
  const Transpose transpose_a = op[0] == 'T' ? Transpose::Yes : Transpose::No;
  const Transpose transpose_b = op[1] == 'T' ? Transpose::Yes : Transpose::No;
  const std::int64_t lda = transpose_a == Transpose::No ? K : M, ldb = transpose_b == Transpose::No ? N : K;
  std::vector<float> a(static_cast<std::size_t>(M * K)), b(static_cast<std::size_t>(K * N)), c(static_cast<std::size_t>(M * N));
  fill_random(a, 1);
  fill_random(b, 2);
  sf::parallel::set_num_threads(threads);
  std::vector<double> times;
  time_calls(options.back_to_back, times, [&] {
    sf::kernels::gemm_variant<float>(options.variant, transpose_a, transpose_b, M, N, K, 1.0f, a.data(), lda,
                                     b.data(), ldb, 0.0f, c.data(), N);
  });
  std::sort(times.begin(), times.end());
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const auto at = [&](double fraction) {
    return flops / times[static_cast<std::size_t>(fraction * static_cast<double>(times.size() - 1))] / 1e9;
  };
  std::printf("%lld,%lld,%lld,%s,%d,%.1f,%.1f,%.1f,%.1f,%.1f\n", static_cast<long long>(M),
              static_cast<long long>(N), static_cast<long long>(K), op.c_str(), threads, at(0.0), at(0.25),
              at(0.5), at(0.75), at(1.0));
}

}  // namespace

// Restarts the process with OPENBLAS_CORETYPE=SkylakeX when that gives OpenBLAS wider kernels
// (see the top of this file); returns only when no restart is needed or it failed.
void use_openblas_avx512_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
    return;
  const std::string_view core = openblas_get_corename();  // "Haswell" or "Zen" for an AVX2 fallback
  if (core.find("aswell") == std::string_view::npos && core.find("en") == std::string_view::npos) return;
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
  execv("/proc/self/exe", argv);
  std::fprintf(stderr, "bench_gemm: could not restart with OPENBLAS_CORETYPE=SkylakeX; using OpenBLAS core %s\n",
               openblas_get_corename());
}

int main(int argc, char** argv) {
  use_openblas_avx512_kernels(argv);
  const Options options = parse_options(argc, argv);
  std::FILE* info = options.csv ? stderr : stdout;  // --csv keeps stdout to the table alone
  using Blocking = sf::kernels::gemm_config::Blocking<float>;
  std::fprintf(info, "OpenBLAS core: %s\nOpenBLAS config: %s\n", openblas_get_corename(), openblas_get_config());
  std::fprintf(info, "ours: variant %s, MR=%lld NR=%lld MC=%lld KC=%lld NC=%lld, %lld floats per vector\n",
               sf::kernels::gemm_variant_name(options.variant), static_cast<long long>(Blocking::MR),
               static_cast<long long>(Blocking::NR), static_cast<long long>(Blocking::MC),
               static_cast<long long>(Blocking::KC), static_cast<long long>(Blocking::NC),
               static_cast<long long>(Blocking::lanes));
  std::vector<double> peaks;
  for (int threads : options.threads) {
    peaks.push_back(fma_peak_gflops(threads));
    std::fprintf(info, "fp32 FMA peak: %.1f GFLOP/s with %d thread(s) (%.1f per core)\n", peaks.back(), threads,
                 peaks.back() / threads);
  }
  if (options.back_to_back > 0) {
    std::printf("M,N,K,op,threads,best_gflops,p25_gflops,median_gflops,p75_gflops,worst_gflops\n");
    for (int threads : options.threads)
      for (const Case& shape : options.sizes)
        for (const std::string& op : options.ops) run_back_to_back(shape, op, threads, options);
    return 0;
  }
  if (options.csv)
    std::printf("M,N,K,op,threads,ours_gflops,openblas_gflops,ratio,pct_peak\n");
  else
    std::printf("%6s %6s %6s %3s %7s %12s %15s %6s %8s %10s\n", "M", "N", "K", "op", "threads", "ours GF/s",
                "OpenBLAS GF/s", "ratio", "% peak", "max diff");
  for (std::size_t thread_index = 0; thread_index < options.threads.size(); ++thread_index) {
    const int threads = options.threads[thread_index];
    for (const Case& shape : options.sizes) {
      for (const std::string& op : options.ops) {
        const Result result = run_case(shape, op, threads, options);
        const double ratio = result.ours_gflops / result.openblas_gflops;
        const double percent = 100.0 * result.ours_gflops / peaks[thread_index];
        if (options.csv)
          std::printf("%lld,%lld,%lld,%s,%d,%.1f,%.1f,%.3f,%.1f\n", static_cast<long long>(shape.M),
                      static_cast<long long>(shape.N), static_cast<long long>(shape.K), op.c_str(), threads,
                      result.ours_gflops, result.openblas_gflops, ratio, percent);
        else
          std::printf("%6lld %6lld %6lld %3s %7d %12.1f %15.1f %6.3f %7.1f%% %10.2e\n",
                      static_cast<long long>(shape.M), static_cast<long long>(shape.N),
                      static_cast<long long>(shape.K), op.c_str(), threads, result.ours_gflops,
                      result.openblas_gflops, ratio, percent, result.max_difference);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
