// Shared pieces of the GEMM implementation (internal to core/src/kernels): the strided view of
// an operand, the per-thread scratch buffers and the serial building blocks that gemm.cpp
// spreads over threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "sf/core/kernels/gemm.hpp"

namespace sf::kernels::gemm_detail {

// op(X) as a strided matrix: element (row, column) at data[row · row_stride + column · column_stride].
// One of the two strides is 1 (stored row-major, possibly transposed).
template <class T>
struct Operand {
  const T* data;
  std::int64_t row_stride;
  std::int64_t column_stride;

  T at(std::int64_t row, std::int64_t column) const { return data[row * row_stride + column * column_stride]; }
  // The sub-matrix starting at (row, column).
  Operand shifted(std::int64_t row, std::int64_t column) const {
    return {data + row * row_stride + column * column_stride, row_stride, column_stride};
  }
};

// op(A) or op(B) of a row-major matrix with leading dimension `ld`.
template <class T>
inline Operand<T> make_operand(const T* data, std::int64_t ld, Transpose transpose) {
  return transpose == Transpose::No ? Operand<T>{data, ld, 1} : Operand<T>{data, 1, ld};
}

// 64-byte-aligned scratch memory that only grows. Each thread owns one per operand (see
// scratch_a / scratch_b), so the hot loop never allocates after the first call.
class ScratchBuffer {
 public:
  template <class T>
  T* get(std::int64_t count) {
    const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(T);
    if (bytes > capacity_) {
      data_.reset(static_cast<std::byte*>(::operator new(bytes, std::align_val_t{alignment})));
      capacity_ = bytes;
    }
    return reinterpret_cast<T*>(data_.get());
  }

 private:
  static constexpr std::size_t alignment = 64;
  struct Free {
    void operator()(std::byte* pointer) const { ::operator delete(pointer, std::align_val_t{alignment}); }
  };
  std::unique_ptr<std::byte, Free> data_;
  std::size_t capacity_ = 0;
};

ScratchBuffer& scratch_a();  // this thread's buffer for packed A blocks
ScratchBuffer& scratch_b();  // this thread's buffer for packed B panels

// A buffer shared by the tasks of one GEMM call (the B panel that gemm_parallel packs once for
// all of them), borrowed from a process-wide pool for the duration of the call. It cannot be
// thread_local: while the calling thread waits for its tasks, oneTBB may hand it a task of
// another GEMM call (work stealing), whose own shared panel must not overwrite this one.
class SharedBufferLease {
 public:
  SharedBufferLease();
  ~SharedBufferLease();
  SharedBufferLease(const SharedBufferLease&) = delete;
  SharedBufferLease& operator=(const SharedBufferLease&) = delete;
  ScratchBuffer& buffer() { return *buffer_; }

 private:
  std::unique_ptr<ScratchBuffer> buffer_;
};

// C = beta · C on an M × N block (beta == 0 writes zeros without reading C).
template <class T>
void scale_matrix(std::int64_t M, std::int64_t N, T beta, T* C, std::int64_t ldc);

// The serial steps of docs/gemm.md; all require M, N, K > 0.
// Naive: C = alpha · Σ_k op(A)(i, k) · op(B)(k, j) + beta · C, summed in Accumulator.
template <class T, class Accumulator>
void gemm_naive(std::int64_t M, std::int64_t N, std::int64_t K, T alpha, Operand<T> a, Operand<T> b, T beta, T* C,
                std::int64_t ldc);
template <class T>
void gemm_blocked(std::int64_t M, std::int64_t N, std::int64_t K, T alpha, Operand<T> a, Operand<T> b, T beta, T* C,
                  std::int64_t ldc);
template <class T>
void gemm_packed(std::int64_t M, std::int64_t N, std::int64_t K, T alpha, Operand<T> a, Operand<T> b, T beta, T* C,
                 std::int64_t ldc, const T* bias = nullptr);

// The packed paths take an optional bias row (N values; beta must then be 0): the first K
// slice's epilogue writes alpha · sum + bias[j] instead of reading C (gemm_with_bias).
// The pieces of gemm_packed that gemm_parallel reuses (gemm_packed.cpp):
// packs op(B)[kc, nc] (starting at b) into NR-wide slivers;
template <class T>
void pack_b_slice(Operand<T> b, std::int64_t nc, std::int64_t kc, T* b_packed);
// C[M, nc] = alpha · op(A)[M, kc] · b_packed + beta · C for one K slice (kc ≤ KC): packs A in
// MC-row blocks into this thread's scratch and runs the micro-kernel over every tile.
template <class T>
void multiply_slice(std::int64_t M, std::int64_t nc, std::int64_t kc, T alpha, Operand<T> a, const T* b_packed,
                    T beta, T* C, std::int64_t ldc, const T* bias = nullptr);

// How a GEMM call of `batch` entries of M·N·K = `work` each uses the threads: the one decision,
// taken by shape alone, for the float32/float64 GEMM and the bfloat16 GEMM alike (gemm.cpp).
//   Serial          too little work for a task to pay (below gemm_config::parallel_min_work), or
//                   one thread: one entry after the other on the caller
//   EntryPerTask    many entries (at least two per thread) or small ones: one task per entry
//   SplitEachEntry  a few large entries: one after the other, each split over `threads`
// The bits never depend on it: every element of C sees the same K slices in the same order.
enum class GemmSplit { Serial, EntryPerTask, SplitEachEntry };
struct GemmThreading {
  GemmSplit split = GemmSplit::Serial;
  std::int64_t threads = 1;
};
GemmThreading plan_gemm_threads(std::int64_t batch, std::int64_t work);

// The packed GEMM spread over `threads` threads in many small tasks (gemm_parallel.cpp);
// bit-identical to gemm_packed.
template <class T>
void gemm_parallel(std::int64_t M, std::int64_t N, std::int64_t K, T alpha, Operand<T> a, Operand<T> b, T beta,
                   T* C, std::int64_t ldc, std::int64_t threads, const T* bias = nullptr);

}  // namespace sf::kernels::gemm_detail
