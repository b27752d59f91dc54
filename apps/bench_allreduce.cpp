// bench_allreduce: MPI_Allreduce (sum of float32) time against message size.
//
//   mpirun -np 2 build/bin/bench_allreduce [--min-bytes 4096] [--max-bytes 67108864] [--reps 21] [--json]
//
// For each size (powers of 4 from --min-bytes to --max-bytes) every rank runs a few warm-up
// allreduces, then --reps timed ones, each between barriers, with the blocking MPI_Allreduce and
// with MPI_Iallreduce + MPI_Wait (the gradient reducer's call). The time of one repetition is the
// slowest rank's; the table shows the median over repetitions, the algorithm bandwidth
// (bytes / time) and the bus bandwidth (2 (N-1) / N * bytes / time, what a ring allreduce moves
// per rank, comparable across rank counts). Rank 0 prints.
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  std::int64_t min_bytes = 4096;
  std::int64_t max_bytes = std::int64_t{64} << 20;
  int reps = 21;
  bool json = false;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int index = 1; index < argc; ++index) {
    const std::string argument = argv[index];
    const bool has_value = index + 1 < argc;
    if (argument == "--min-bytes" && has_value) options.min_bytes = std::atoll(argv[++index]);
    else if (argument == "--max-bytes" && has_value) options.max_bytes = std::atoll(argv[++index]);
    else if (argument == "--reps" && has_value) options.reps = std::atoi(argv[++index]);
    else if (argument == "--json") options.json = true;
    else {
      std::fprintf(stderr, "usage: bench_allreduce [--min-bytes B] [--max-bytes B] [--reps R] [--json]\n");
      std::exit(2);
    }
  }
  if (options.min_bytes < 4 || options.max_bytes < options.min_bytes || options.reps < 1) {
    std::fprintf(stderr, "bench_allreduce: need 4 <= --min-bytes <= --max-bytes and --reps >= 1\n");
    std::exit(2);
  }
  return options;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : 0.5 * (values[middle - 1] + values[middle]);
}

// Seconds of one allreduce of `buffer`, the slowest rank's.
double time_one(std::vector<float>& buffer, bool non_blocking) {
  MPI_Barrier(MPI_COMM_WORLD);
  const double started = MPI_Wtime();
  if (non_blocking) {
    MPI_Request request = MPI_REQUEST_NULL;
    MPI_Iallreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &request);
    MPI_Wait(&request, MPI_STATUS_IGNORE);
  } else {
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
  double elapsed = MPI_Wtime() - started;
  MPI_Allreduce(MPI_IN_PLACE, &elapsed, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const Options options = parse(argc, argv);
  if (rank == 0 && !options.json) {
    std::printf("MPI_Allreduce, float32 sum, %d ranks, median of %d repetitions (slowest rank)\n\n", size, options.reps);
    std::printf("| bytes | floats | allreduce µs | algbw GB/s | busbw GB/s | iallreduce+wait µs |\n");
    std::printf("| ---: | ---: | ---: | ---: | ---: | ---: |\n");
  }
  for (std::int64_t bytes = options.min_bytes; bytes <= options.max_bytes; bytes *= 4) {
    std::vector<float> buffer(static_cast<std::size_t>(bytes / 4), 1.0f);
    // Fewer repetitions would do for large messages, but the median needs a few.
    const int warmup = bytes >= (std::int64_t{16} << 20) ? 1 : 3;
    for (int rep = 0; rep < warmup; ++rep) {
      time_one(buffer, false);
      time_one(buffer, true);
    }
    std::vector<double> blocking, non_blocking;
    for (int rep = 0; rep < options.reps; ++rep) {
      std::fill(buffer.begin(), buffer.end(), 1.0f);  // keep the values finite and the work the same
      blocking.push_back(time_one(buffer, false));
      non_blocking.push_back(time_one(buffer, true));
    }
    const double seconds = median(blocking), seconds_non_blocking = median(non_blocking);
    const double algorithm_bandwidth = static_cast<double>(bytes) / seconds / 1e9;
    const double bus_bandwidth = algorithm_bandwidth * 2.0 * (size - 1) / size;
    if (rank == 0) {
      if (options.json)
        std::printf("{\"ranks\": %d, \"bytes\": %lld, \"allreduce_us\": %.2f, \"algbw_gbps\": %.3f, \"busbw_gbps\": %.3f, "
                    "\"iallreduce_wait_us\": %.2f}\n",
                    size, static_cast<long long>(bytes), 1e6 * seconds, algorithm_bandwidth, bus_bandwidth,
                    1e6 * seconds_non_blocking);
      else
        std::printf("| %lld | %lld | %.1f | %.2f | %.2f | %.1f |\n", static_cast<long long>(bytes),
                    static_cast<long long>(bytes / 4), 1e6 * seconds, algorithm_bandwidth, bus_bandwidth,
                    1e6 * seconds_non_blocking);
      std::fflush(stdout);
    }
  }
  MPI_Finalize();
  return 0;
}
