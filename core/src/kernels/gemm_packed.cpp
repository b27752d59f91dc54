// The packed GEMM on one thread: the five BLIS loops around the micro-kernel.
//
//   C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C[M, N]        (M, N, K > 0)
//
//   for jc in [0, N) step NC                      B panel columns
//     for pc in [0, K) step KC                    K slice; pack op(B)[pc:+KC, jc:+NC] -> b_packed
//       multiply_slice:
//       for ic in [0, M) step MC                  pack op(A)[ic:+MC, pc:+KC] -> a_packed
//                                                 (or read it in place: read_a_in_place)
//         for jr in [0, nc) step NR               B micro-panel (stays in L1)
//           for ir in [0, mc) step MR             A micro-panel (streams from L2)
//             micro-kernel: C[ic+ir:+MR, jc+jr:+NR] (+)= a-sliver · b-sliver
//
// The first K slice applies the caller's beta, later slices add (beta = 1), so each element
// of C is alpha·(slice sum) accumulated slice by slice in a fixed order.
#include <algorithm>

#include "gemm_internal.hpp"
#include "gemm_micro_kernel.hpp"
#include "gemm_packing.hpp"

namespace sf::kernels::gemm_detail {

ScratchBuffer& scratch_a() {
  thread_local ScratchBuffer buffer;
  return buffer;
}
ScratchBuffer& scratch_b() {
  thread_local ScratchBuffer buffer;
  return buffer;
}

// Whether the micro-kernel reads op(A) where it lies instead of from a packed copy. Packing A
// pays off when its rows would fight over L1 sets or when A is stored transposed (k strided);
// a row-major A whose rows start in different sets is read as fast in place, and the copy
// (one more pass over the activations, 13% of an original-small inference step) is saved.
// Rows ≥ 2 KiB apart (K ≥ 512 floats, powers of two) map the MR rows of a tile onto at most
// two of the 64 L1 sets, more rows than the sets have ways: those are packed.
template <class T>
bool read_a_in_place(Operand<T> a) {
  constexpr std::int64_t conflicting_stride_bytes = 2048;
  const std::int64_t stride_bytes = a.row_stride * static_cast<std::int64_t>(sizeof(T));
  return a.column_stride == 1 && stride_bytes % conflicting_stride_bytes != 0;
}

template <class T>
void multiply_slice(std::int64_t M, std::int64_t nc, std::int64_t kc, T alpha, Operand<T> a, const T* b_packed,
                    T beta, T* C, std::int64_t ldc, const T* bias) {
  constexpr std::int64_t MR = Blocking<T>::MR, NR = Blocking<T>::NR, MC = Blocking<T>::MC;
  const bool in_place = read_a_in_place<T>(a);
  T* a_packed = in_place ? nullptr : scratch_a().get<T>(gemm_config::round_up(std::min(M, MC), MR) * kc);
  for (std::int64_t ic = 0; ic < M; ic += MC) {
    const std::int64_t mc = std::min(MC, M - ic);
    const Operand<T> a_block = a.shifted(ic, 0);
    if (!in_place) pack_block<T, MR>(a_block.data, a_block.row_stride, a_block.column_stride, mc, kc, a_packed);
    for (std::int64_t jr = 0; jr < nc; jr += NR) {
      const std::int64_t columns = std::min(NR, nc - jr);
      const T* bias_columns = bias ? bias + jr : nullptr;
      for (std::int64_t ir = 0; ir < mc; ir += MR) {
        const std::int64_t rows = std::min(MR, mc - ir);
        T* c_tile = C + (ic + ir) * ldc + jr;
        if (in_place)
          compute_tile<T, true>(rows, columns, kc, a_block.data + ir * a.row_stride, a.row_stride, b_packed + jr * kc,
                                NR, alpha, beta, c_tile, ldc, bias_columns);
        else
          compute_tile<T>(rows, columns, kc, a_packed + ir * kc, MR, b_packed + jr * kc, NR, alpha, beta, c_tile, ldc,
                          bias_columns);
      }
    }
  }
}

template <class T>
void pack_b_slice(Operand<T> b, std::int64_t nc, std::int64_t kc, T* b_packed) {
  // op(B)(k, j): the width j has stride column_stride, the depth k has stride row_stride.
  pack_block<T, Blocking<T>::NR>(b.data, b.column_stride, b.row_stride, nc, kc, b_packed);
}

template <class T>
void gemm_packed(std::int64_t M, std::int64_t N, std::int64_t K, T alpha, Operand<T> a, Operand<T> b, T beta, T* C,
                 std::int64_t ldc, const T* bias) {
  constexpr std::int64_t NR = Blocking<T>::NR, KC = Blocking<T>::KC, NC = Blocking<T>::NC;
  T* b_packed = scratch_b().get<T>(std::min(K, KC) * gemm_config::round_up(std::min(N, NC), NR));
  for (std::int64_t jc = 0; jc < N; jc += NC) {
    const std::int64_t nc = std::min(NC, N - jc);
    for (std::int64_t pc = 0; pc < K; pc += KC) {
      const std::int64_t kc = std::min(KC, K - pc);
      pack_b_slice(b.shifted(pc, jc), nc, kc, b_packed);
      multiply_slice(M, nc, kc, alpha, a.shifted(0, pc), b_packed, pc == 0 ? beta : T(1), C + jc, ldc,
                     pc == 0 && bias ? bias + jc : nullptr);
    }
  }
}

#define SF_GEMM_PACKED_INSTANTIATE(T)                                                                        \
  template void multiply_slice<T>(std::int64_t, std::int64_t, std::int64_t, T, Operand<T>, const T*, T, T*,  \
                                  std::int64_t, const T*);                                                   \
  template void pack_b_slice<T>(Operand<T>, std::int64_t, std::int64_t, T*);                                 \
  template void gemm_packed<T>(std::int64_t, std::int64_t, std::int64_t, T, Operand<T>, Operand<T>, T, T*,   \
                               std::int64_t, const T*);
SF_GEMM_PACKED_INSTANTIATE(float)
SF_GEMM_PACKED_INSTANTIATE(double)
#undef SF_GEMM_PACKED_INSTANTIATE

}  // namespace sf::kernels::gemm_detail
