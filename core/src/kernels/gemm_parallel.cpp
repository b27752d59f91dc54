// The packed GEMM on several threads.
//
//   C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C[M, N]        (M, N, K > 0)
//
// Many small tasks. On this 2-core VM a oneTBB worker that has gone to sleep takes from a few
// microseconds to several milliseconds to join a new parallel_for (measured with a probe
// task: median 60 µs, 90th percentile 1.3 ms, worst 7 ms), and other processes take the cores
// in turns. With one task per thread the caller finishes its half, then either runs the other
// half too or waits for the late worker. With about 8 tasks per thread whoever is running
// takes the next task, so a late worker costs only the time it is late.
//
// Small tasks must not repeat the packing, so:
//   rows (the usual case, at least 2·threads row slivers of MR):
//     phase 1: op(B) of a whole NC-wide panel is packed once, all its K slices, into a buffer
//              shared by the tasks (itself parallel over slices × slivers);
//     phase 2: each task takes a band of rows of C and, K slice after K slice, packs its own
//              rows of op(A) and runs the micro-kernel against the shared B slices;
//   columns (few rows): each task takes a band of columns and runs gemm_packed on it,
//     repeating the packing of the small op(A) only.
// The K slices and the micro-kernel are those of gemm_packed, so the bits do not depend on the
// split: 1 and 2 threads agree exactly.
#include <algorithm>
#include <mutex>
#include <vector>

#include "gemm_internal.hpp"
#include "sf/core/kernels/gemm_config.hpp"
#include "sf/core/parallel.hpp"

namespace sf::kernels::gemm_detail {
namespace {

inline constexpr std::int64_t tasks_per_thread = 8;
// Smallest piece of B packing worth a task of its own (a few microseconds).
inline constexpr std::int64_t min_pack_elements = 1 << 16;
// Largest shared B panel; a bigger K·NC is packed and used in chunks of K slices.
inline constexpr std::int64_t shared_panel_bytes = std::int64_t{16} << 20;

std::int64_t ceil_div(std::int64_t value, std::int64_t divisor) { return (value + divisor - 1) / divisor; }

std::mutex& pool_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::vector<std::unique_ptr<ScratchBuffer>>& pool() {
  static std::vector<std::unique_ptr<ScratchBuffer>> buffers;
  return buffers;
}

}  // namespace

SharedBufferLease::SharedBufferLease() {
  std::lock_guard<std::mutex> lock(pool_mutex());
  if (pool().empty()) {
    buffer_ = std::make_unique<ScratchBuffer>();
  } else {
    buffer_ = std::move(pool().back());
    pool().pop_back();
  }
}

SharedBufferLease::~SharedBufferLease() {
  std::lock_guard<std::mutex> lock(pool_mutex());
  pool().push_back(std::move(buffer_));
}

template <class T>
void gemm_parallel(std::int64_t M, std::int64_t N, std::int64_t K, T alpha, Operand<T> a, Operand<T> b, T beta,
                   T* C, std::int64_t ldc, std::int64_t threads, const T* bias) {
  using Blocking = gemm_config::Blocking<T>;
  constexpr std::int64_t MR = Blocking::MR, NR = Blocking::NR, KC = Blocking::KC, NC = Blocking::NC;
  const std::int64_t row_units = ceil_div(M, MR), column_units = ceil_div(N, NR);

  if (row_units < 2 * threads) {  // columns: bands of NR multiples, each a serial packed GEMM
    const std::int64_t bands = std::min(column_units, tasks_per_thread * threads);
    const std::int64_t band_columns = ceil_div(column_units, bands) * NR;
    parallel::parallel_for(0, ceil_div(N, band_columns), parallel::grain::gemm_tiles,
                           [&](std::int64_t first, std::int64_t last) {
                             for (std::int64_t band = first; band < last; ++band) {
                               const std::int64_t begin = band * band_columns;
                               gemm_packed<T>(M, std::min(band_columns, N - begin), K, alpha, a, b.shifted(0, begin),
                                              beta, C + begin, ldc, bias ? bias + begin : nullptr);
                             }
                           });
    return;
  }

  const std::int64_t bands = std::min(row_units, tasks_per_thread * threads);
  const std::int64_t band_rows = ceil_div(row_units, bands) * MR;
  const std::int64_t band_count = ceil_div(M, band_rows);
  SharedBufferLease lease;
  for (std::int64_t jc = 0; jc < N; jc += NC) {
    const std::int64_t nc = std::min(NC, N - jc);
    const std::int64_t slivers = ceil_div(nc, NR);
    const std::int64_t slice_size = KC * slivers * NR;  // elements of one packed K slice
    const std::int64_t slices_per_chunk =
        std::max<std::int64_t>(1, shared_panel_bytes / (slice_size * static_cast<std::int64_t>(sizeof(T))));
    T* panel = lease.buffer().get<T>(std::min(ceil_div(K, KC), slices_per_chunk) * slice_size);
    for (std::int64_t chunk_begin = 0; chunk_begin < K; chunk_begin += slices_per_chunk * KC) {
      const std::int64_t slices = ceil_div(std::min(K - chunk_begin, slices_per_chunk * KC), KC);
      // Phase 1: pack op(B)[chunk, jc:+nc], one (slice, sliver) pair per unit of work, in tasks
      // of at least min_pack_elements (a small B is packed by the caller alone).
      const std::int64_t units = slices * slivers;
      const std::int64_t grain = std::max(units / (tasks_per_thread * threads), ceil_div(min_pack_elements, KC * NR));
      parallel::parallel_for(0, units, grain,
                             [&](std::int64_t first, std::int64_t last) {
                               for (std::int64_t unit = first; unit < last; ++unit) {
                                 const std::int64_t slice = unit / slivers, column = unit % slivers * NR;
                                 const std::int64_t pc = chunk_begin + slice * KC, kc = std::min(KC, K - pc);
                                 pack_b_slice<T>(b.shifted(pc, jc + column), std::min(NR, nc - column), kc,
                                                 panel + slice * slice_size + column * kc);
                               }
                             });
      // Phase 2: bands of rows against the shared slices.
      parallel::parallel_for(0, band_count, parallel::grain::gemm_tiles, [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t band = first; band < last; ++band) {
          const std::int64_t row_begin = band * band_rows, rows = std::min(band_rows, M - row_begin);
          for (std::int64_t slice = 0; slice < slices; ++slice) {
            const std::int64_t pc = chunk_begin + slice * KC, kc = std::min(KC, K - pc);
            multiply_slice<T>(rows, nc, kc, alpha, a.shifted(row_begin, pc), panel + slice * slice_size,
                              pc == 0 ? beta : T(1), C + row_begin * ldc + jc, ldc,
                              pc == 0 && bias ? bias + jc : nullptr);
          }
        }
      });
    }
  }
}

template void gemm_parallel<float>(std::int64_t, std::int64_t, std::int64_t, float, Operand<float>, Operand<float>,
                                   float, float*, std::int64_t, std::int64_t, const float*);
template void gemm_parallel<double>(std::int64_t, std::int64_t, std::int64_t, double, Operand<double>,
                                    Operand<double>, double, double*, std::int64_t, std::int64_t,
                                    const double*);

}  // namespace sf::kernels::gemm_detail
