// Block sizes of the GEMM (BLIS notation, Van Zee & van de Geijn 2015; Low et al. 2016,
// "Analytical modeling is enough for high-performance BLIS").
//
//   C[M, N] += A[M, K] · B[K, N] is cut into
//     NC-wide column panels of B        (jc loop)   the packed B panel  KC × NC  lives in L3,
//     KC-deep slices of K               (pc loop)
//     MC-tall row blocks of A           (ic loop)   the packed A block  MC × KC  lives in L2,
//     NR-wide slivers of the B panel    (jr loop)   one B micro-panel   KC × NR  lives in L1,
//     MR-tall slivers of the A block    (ir loop)   one A micro-panel   MR × KC  streams from L2,
//   and an MR × NR micro-kernel keeps its C tile in registers for all KC steps.
//
// Registers decide MR and NR. One step k of the micro-kernel loads NR/lanes vectors of B,
// broadcasts MR values of A one at a time and does MR·NR/lanes FMAs into MR·NR/lanes
// accumulators. With NR = 2 vectors the register budget is
//   accumulators 2·MR  +  B vectors 2  +  one A broadcast  ≤  vector registers,
// so MR = (registers − 3) / 2:
//   AVX-512 (32 zmm): NR = 2·16 = 32 floats, MR = 14 → 28 accumulators, 31 registers in use;
//   AVX2 / SSE (16 ymm / xmm): NR = 2·8 (2·4) floats, MR = 6 → 12 accumulators, 15 registers.
// 28 independent FMA chains cover the FMA latency (4 cycles) × throughput (2 per cycle) = 8
// chains Zen 5 needs to keep both 512-bit pipes busy, and each step does 28 FMAs for only
// 2 vector loads + 14 broadcasts, well under Zen 5's two 512-bit loads per cycle.
// For double the lanes halve (NR = 16 on AVX-512) and MR stays the same.
//
// Caches of this machine (AMD EPYC Zen 5, `getconf -a | grep CACHE`): L1d 48 KiB 12-way,
// L2 1 MiB 8-way per core, L3 32 MiB per CCD (the VM reports 508 MiB for the whole socket).
// L2 feeds L1 with 64 B/cycle; the kernel needs 128 B of B + 56 B of A per 14-cycle k step,
// 13 B/cycle, so the operands only have to be in L2, not in L1.
//   KC: each K slice reloads the C tile (14 rows × 128 B; from L3 when C is large, and when
//       a row of C is a multiple of 4 KiB long all 14 rows fall into the same two L1 sets) and
//       pays the kernel's prologue and epilogue, so the slice is made as deep as L2 allows. The textbook L1 rule
//       (B micro-panel KC × NR in half of L1) would give KC = 24 KiB / 128 B = 192; measured on
//       2048³ NN, one thread (CPU time, best of 8, docs/gemm.md):
//         KC = 192: 164, 256: 170, 384: 174, 512: 180-186, 768: 186-190 GFLOP/s.
//       KC·sizeof(T) = 2 KiB: KC = 512 floats (256 doubles), the B micro-panel is 64 KiB and
//       streams from L2. (768 gains 2-3 %, inside the noise, but would cut MC to 168 and NC
//       below 2048.)
//   MC: the packed A block MC × KC takes half of L2 (the rest holds the B micro-panel and C
//       lines): MC = 512 KiB / 2 KiB = 256 → 252, a multiple of MR = 14. Each B micro-panel
//       fetched from L3 is then reused by 18 micro-kernel calls.
//   NC: the packed B panel KC × NC lives in L3 (shared by both cores): 4 MiB, an eighth of the
//       CCD's 32 MiB: NC = 4 MiB / 2 KiB = 2048. Every N of the benchmark fits in one panel.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstdint>

namespace sf::kernels::gemm_config {

// Vector registers of the instruction set the code is compiled for (-march / SF_ARCH).
#if XSIMD_WITH_AVX512F
inline constexpr std::int64_t vector_registers = 32;
#else
inline constexpr std::int64_t vector_registers = 16;
#endif

// Cache sizes of this CPU (see above; L1d is 48 KiB); the derivations below start from these.
inline constexpr std::int64_t l2_bytes = 1024 * 1024;
inline constexpr std::int64_t l3_bytes = 32 * 1024 * 1024;

inline constexpr std::int64_t round_down(std::int64_t value, std::int64_t multiple) {
  return value / multiple * multiple;
}
inline constexpr std::int64_t round_up(std::int64_t value, std::int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

template <class T>
struct Blocking {
  static constexpr std::int64_t lanes = static_cast<std::int64_t>(xsimd::batch<T>::size);
  static constexpr std::int64_t NR = 2 * lanes;
  static constexpr std::int64_t MR = (vector_registers - 3) / 2;
  // Deep enough that an A block of about 256 rows fills half of L2 (see above).
  static constexpr std::int64_t KC = l2_bytes / 2 / (256 * static_cast<std::int64_t>(sizeof(T)));
  // Half of L2 for the A block, a multiple of MR.
  static constexpr std::int64_t MC = round_down(l2_bytes / 2 / (KC * static_cast<std::int64_t>(sizeof(T))), MR);
  // An eighth of L3 for the B panel, a multiple of NR.
  static constexpr std::int64_t NC = round_down(l3_bytes / 8 / (KC * static_cast<std::int64_t>(sizeof(T))), NR);
};

// Below this many multiply-adds (M·N·K) the packing does not pay and gemm() takes a direct
// loop; below parallel_min_work it stays on one thread (a task costs a few microseconds).
inline constexpr std::int64_t small_work = 16 * 16 * 16;
inline constexpr std::int64_t parallel_min_work = 64 * 64 * 64;

}  // namespace sf::kernels::gemm_config
