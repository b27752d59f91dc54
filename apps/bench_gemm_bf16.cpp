// bench_gemm_bf16: our bfloat16 GEMM against oneDNN's bf16 matmul and our float32 GEMM, same
// process, same thread count, medians of alternating rounds.
//
//   bench_gemm_bf16 [--threads N] [--sizes 8192x128x128,...] [--ops NN,NT,TN] [--repetitions 15] [--csv]
//
// C[M, N] = op(A)·op(B) with float32 A, B and C, alpha 1, beta 0. Ours rounds A and B to bfloat16
// while packing (the time includes it). oneDNN (Debian's libdnnl 2.6, a benchmark baseline only)
// runs two ways and the faster one is the baseline: (a) bf16 inputs converted beforehand (the
// conversion not timed: oneDNN's best case), (b) float32 inputs with fpmath_mode bf16 (it converts
// itself, like ours). "ours bf16in" is ours given the same bf16 inputs as (a) (gemm_bfloat16 on
// std::uint16_t bits: no rounding, half the bytes, a row-major A read in place), against (a) in
// "ratio16": like for like; it must give the bits of ours on float32 inputs ("same bits").
// pct_peak compares ours with the peak of its path on this CPU, measured in the same run: a loop of
// independent VDPBF16PS chains (64 FLOP per instruction), or on the amx path (SF_ISA=amx, the
// default where the CPU has AMX) of TDPBF16PS on 4 accumulator tiles (16,384 FLOP each).
// The thread count applies to our kernels (oneTBB) and to oneDNN (OpenMP).
#include <immintrin.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "sf/core/kernels/amx_tiles.hpp"
#include "sf/core/kernels/gemm.hpp"
#include "sf/core/kernels/gemm_bf16.hpp"
#include "sf/core/parallel.hpp"

extern "C" void omp_set_num_threads(int threads);  // libgomp, which oneDNN runs on

namespace {

using sf::bench::median;
using sf::bench::split;
using sf::bench::time_calls;
using sf::kernels::Transpose;

struct Case {
  std::int64_t M, N, K;
};

struct Options {
  int threads = 1;
  std::vector<Case> sizes = {{8192, 128, 128}, {8192, 512, 128}, {8192, 128, 512}, {128, 128, 8192},
                             {1843, 30522, 128}, {2048, 2048, 2048}};
  std::vector<std::string> ops = {"NN", "NT", "TN"};
  int repetitions = 15;
  bool csv = false;
};

Options parse_options(int argc, char** argv) {
  Options options;
  for (int index = 1; index < argc; ++index) {
    const std::string_view argument = argv[index];
    auto value = [&]() -> std::string {
      if (index + 1 >= argc) {
        std::fprintf(stderr, "bench_gemm_bf16: %s needs a value\n", argv[index]);
        std::exit(2);
      }
      return argv[++index];
    };
    if (argument == "--threads") {
      options.threads = std::max(1, std::stoi(value()));
    } else if (argument == "--sizes") {
      options.sizes.clear();
      for (const std::string& part : split(value(), ',')) {
        const std::vector<std::string> dims = split(part, 'x');
        if (dims.size() != 3) {
          std::fprintf(stderr, "bench_gemm_bf16: a size is MxNxK, got %s\n", part.c_str());
          std::exit(2);
        }
        options.sizes.push_back({std::stoll(dims[0]), std::stoll(dims[1]), std::stoll(dims[2])});
      }
    } else if (argument == "--ops") {
      options.ops = split(value(), ',');
    } else if (argument == "--repetitions") {
      options.repetitions = std::max(5, std::stoi(value()));
    } else if (argument == "--csv") {
      options.csv = true;
    } else {
      std::fprintf(stderr,
                   "bench_gemm_bf16: unknown option %s\nusage: bench_gemm_bf16 [--threads N] [--sizes MxNxK,...] "
                   "[--ops NN,NT,TN] [--repetitions 15] [--csv]\n",
                   argv[index]);
      std::exit(2);
    }
  }
  return options;
}

// VDPBF16PS throughput of one thread in CPU time: 16 independent chains, rounds of 2^16 steps
// (about 0.1 ms).
__attribute__((target("avx512f,avx512bf16"))) double dot_product_gflops_one_thread(double seconds) {
  __m512 chains[16];
  for (int chain = 0; chain < 16; ++chain) chains[chain] = _mm512_set1_ps(static_cast<float>(chain));
  const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = (__m512bh)_mm512_set1_epi32(0x00010001);
  constexpr std::int64_t steps_per_round = 1 << 16;
  const double rounds_per_second =
      sf::bench::rounds_per_cpu_second(seconds, [&]() __attribute__((target("avx512f,avx512bf16"))) {
        for (std::int64_t step = 0; step < steps_per_round; ++step) {
#pragma GCC unroll 16
          for (int chain = 0; chain < 16; ++chain) chains[chain] = _mm512_dpbf16_ps(chains[chain], a, b);
        }
      });
  __m512 total = _mm512_setzero_ps();
  for (int chain = 0; chain < 16; ++chain) total = _mm512_add_ps(total, chains[chain]);
  volatile float sink = _mm512_reduce_add_ps(total);
  (void)sink;
  return 64.0 * 16.0 * static_cast<double>(steps_per_round) * rounds_per_second / 1e9;
}

// TDPBF16PS throughput of one thread: 4 independent accumulator tiles (the GEMM's 2 × 2), each
// instruction 16 · 16 · 32 multiply-adds. Only where the amx path runs (the tile data granted).
double tile_gflops_one_thread(double seconds) {
  sf::kernels::amx::HardwareTiles tiles;
  tiles.configure(sf::kernels::amx::TileConfig{});
  alignas(64) static const std::uint32_t operand[16 * 16] = {};
  tiles.load<4>(operand, 64);
  tiles.load<5>(operand, 64);
  tiles.load<6>(operand, 64);
  tiles.load<7>(operand, 64);
  tiles.zero<0>();
  tiles.zero<1>();
  tiles.zero<2>();
  tiles.zero<3>();
  constexpr std::int64_t steps_per_round = 1 << 12;
  const double rounds_per_second = sf::bench::rounds_per_cpu_second(seconds, [&] {
    for (std::int64_t step = 0; step < steps_per_round; ++step) {
      tiles.dot_bfloat16<0, 4, 6>();
      tiles.dot_bfloat16<1, 4, 7>();
      tiles.dot_bfloat16<2, 5, 6>();
      tiles.dot_bfloat16<3, 5, 7>();
    }
  });
  tiles.release();
  return 16384.0 * 4.0 * static_cast<double>(steps_per_round) * rounds_per_second / 1e9;
}

// The peak of `path` with `threads` threads, each running its loop at once.
double dot_product_peak(sf::kernels::Bfloat16Path path, int threads) {
  std::vector<double> rates(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int thread = 0; thread < threads; ++thread)
    workers.emplace_back([&rates, thread, path] {
      rates[static_cast<std::size_t>(thread)] = path == sf::kernels::Bfloat16Path::Amx
                                                    ? tile_gflops_one_thread(0.3)
                                                    : dot_product_gflops_one_thread(0.3);
    });
  for (std::thread& worker : workers) worker.join();
  double total = 0;
  for (double rate : rates) total += rate;
  return total;
}

struct Result {
  double ours, onednn_converted, onednn_fpmath, float32, max_difference, ours_bf16_inputs;
  bool same_bits;
};

Result run_case(const Case& shape, const std::string& op, const Options& options, const dnnl::engine& engine,
                dnnl::stream& stream) {
  using dnnl::memory;
  const auto [M, N, K] = shape;
  const Transpose ta = op[0] == 'T' ? Transpose::Yes : Transpose::No, tb = op[1] == 'T' ? Transpose::Yes : Transpose::No;
  const std::int64_t lda = ta == Transpose::No ? K : M, ldb = tb == Transpose::No ? N : K;
  sf::bench::LineVector<float> a(static_cast<std::size_t>(M * K)), b(static_cast<std::size_t>(K * N));
  std::uint64_t state = 7;
  for (sf::bench::LineVector<float>* values : {&a, &b})
    for (float& value : *values) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      value = static_cast<float>(static_cast<double>(state >> 40) / double(1ull << 24) * 2.0 - 1.0);
    }
  sf::bench::LineVector<std::uint16_t> a16(a.size()), b16(b.size());
  std::transform(a.begin(), a.end(), a16.begin(), sf::kernels::float_to_bfloat16);
  std::transform(b.begin(), b.end(), b16.begin(), sf::kernels::float_to_bfloat16);
  sf::bench::LineVector<float> c_ours(static_cast<std::size_t>(M * N)), c_dnnl(c_ours.size()), c_f32(c_ours.size()),
      c_ours16(c_ours.size());

  const auto a_tag = ta == Transpose::No ? memory::format_tag::ab : memory::format_tag::ba;
  const auto b_tag = tb == Transpose::No ? memory::format_tag::ab : memory::format_tag::ba;
  const memory::desc c_md({M, N}, memory::data_type::f32, memory::format_tag::ab);
  auto make_matmul = [&](memory::data_type type, bool fpmath) {
    const memory::desc a_md({M, K}, type, a_tag), b_md({K, N}, type, b_tag);
    dnnl::primitive_attr attributes;
    if (fpmath) attributes.set_fpmath_mode(dnnl::fpmath_mode::bf16);
    const dnnl::matmul::primitive_desc descriptor(dnnl::matmul::desc(a_md, b_md, c_md), attributes, engine);
    return std::make_pair(dnnl::matmul(descriptor), std::make_pair(a_md, b_md));
  };
  auto [converted, converted_md] = make_matmul(memory::data_type::bf16, false);
  auto [fpmath, fpmath_md] = make_matmul(memory::data_type::f32, true);
  memory a_bf16(converted_md.first, engine, a16.data()), b_bf16(converted_md.second, engine, b16.data());
  memory a_f32(fpmath_md.first, engine, a.data()), b_f32(fpmath_md.second, engine, b.data());
  memory c_mem(c_md, engine, c_dnnl.data());

  std::vector<double> ours, dnnl_converted, dnnl_fpmath, float32, ours16;
  const int rounds = 3, calls = (options.repetitions + rounds - 1) / rounds;
  for (int round = 0; round < rounds; ++round) {
    time_calls(calls, ours, [&] {
      sf::kernels::gemm_bfloat16(ta, tb, M, N, K, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c_ours.data(), N);
    });
    time_calls(calls, ours16, [&] {
      sf::kernels::gemm_bfloat16(ta, tb, M, N, K, 1.0f, a16.data(), lda, b16.data(), ldb, 0.0f, c_ours16.data(), N);
    });
    time_calls(calls, dnnl_converted, [&] {
      converted.execute(stream, {{DNNL_ARG_SRC, a_bf16}, {DNNL_ARG_WEIGHTS, b_bf16}, {DNNL_ARG_DST, c_mem}});
      stream.wait();
    });
    time_calls(calls, dnnl_fpmath, [&] {
      fpmath.execute(stream, {{DNNL_ARG_SRC, a_f32}, {DNNL_ARG_WEIGHTS, b_f32}, {DNNL_ARG_DST, c_mem}});
      stream.wait();
    });
    time_calls(calls, float32, [&] {
      sf::kernels::gemm<float>(ta, tb, M, N, K, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c_f32.data(), N);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Agreement with oneDNN's last (fpmath) result, relative to the largest |C|.
  double largest = 0, difference = 0;
  for (std::size_t index = 0; index < c_ours.size(); ++index) {
    largest = std::max(largest, static_cast<double>(std::abs(c_dnnl[index])));
    difference = std::max(difference, static_cast<double>(std::abs(c_ours[index] - c_dnnl[index])));
  }
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) / 1e9;
  return {flops / median(ours), flops / median(dnnl_converted), flops / median(dnnl_fpmath), flops / median(float32),
          largest > 0 ? difference / largest : difference, flops / median(ours16),
          std::memcmp(c_ours.data(), c_ours16.data(), c_ours.size() * sizeof(float)) == 0};
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  sf::kernels::Bfloat16Path path;
  try {
    path = sf::kernels::bfloat16_path();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_gemm_bf16: %s\n", error.what());
    return 1;
  }
  if (path != sf::kernels::Bfloat16Path::Avx512Bf16 && path != sf::kernels::Bfloat16Path::Amx) {
    std::fprintf(stderr, "bench_gemm_bf16: path %s is not timed (the amx or avx512bf16 path is)%s\n",
                 sf::kernels::bfloat16_path_name(path),
                 path == sf::kernels::Bfloat16Path::Emulated ? "; this CPU has no AVX512-BF16" : "");
    return 0;
  }
  sf::parallel::set_num_threads(options.threads);
  omp_set_num_threads(options.threads);
  const double peak = dot_product_peak(path, options.threads);
  std::FILE* info = options.csv ? stderr : stdout;
  std::fprintf(info, "ours: bfloat16 path %s; %s peak %.1f GFLOP/s with %d thread(s)\n",
               sf::kernels::bfloat16_path_name(path),
               path == sf::kernels::Bfloat16Path::Amx ? "TDPBF16PS" : "VDPBF16PS", peak, options.threads);
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  if (options.csv)
    std::printf("M,N,K,op,threads,ours_gflops,onednn_gflops,ratio,pct_peak,onednn_converted,onednn_fpmath,fp32_gflops,"
                "ours_bf16in,ratio16,same_bits\n");
  else
    std::printf("%6s %6s %6s %3s %7s %10s %10s %6s %7s %13s %11s %10s %9s %11s %7s %9s\n", "M", "N", "K", "op",
                "threads", "ours GF/s", "oneDNN", "ratio", "% peak", "oneDNN bf16in", "oneDNN f32in", "ours fp32",
                "max diff", "ours bf16in", "ratio16", "same bits");
  for (const Case& shape : options.sizes) {
    for (const std::string& op : options.ops) {
      const Result result = run_case(shape, op, options, engine, stream);
      const double baseline = std::max(result.onednn_converted, result.onednn_fpmath);
      if (options.csv)
        std::printf("%lld,%lld,%lld,%s,%d,%.1f,%.1f,%.3f,%.1f,%.1f,%.1f,%.1f,%.1f,%.3f,%d\n",
                    static_cast<long long>(shape.M), static_cast<long long>(shape.N), static_cast<long long>(shape.K),
                    op.c_str(), options.threads, result.ours, baseline, result.ours / baseline,
                    100.0 * result.ours / peak, result.onednn_converted, result.onednn_fpmath, result.float32,
                    result.ours_bf16_inputs, result.ours_bf16_inputs / result.onednn_converted,
                    result.same_bits ? 1 : 0);
      else
        std::printf("%6lld %6lld %6lld %3s %7d %10.1f %10.1f %6.3f %6.1f%% %13.1f %11.1f %10.1f %9.2e %11.1f %7.3f "
                    "%9s\n",
                    static_cast<long long>(shape.M), static_cast<long long>(shape.N), static_cast<long long>(shape.K),
                    op.c_str(), options.threads, result.ours, baseline, result.ours / baseline,
                    100.0 * result.ours / peak, result.onednn_converted, result.onednn_fpmath, result.float32,
                    result.max_difference, result.ours_bf16_inputs, result.ours_bf16_inputs / result.onednn_converted,
                    result.same_bits ? "yes" : "NO");
      std::fflush(stdout);
    }
  }
  return 0;
}
