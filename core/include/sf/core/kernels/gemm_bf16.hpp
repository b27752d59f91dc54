// bfloat16 arithmetic for the GEMM: float32 operands rounded to bfloat16 while they are packed,
// products accumulated in float32, C stays float32 (mixed precision: the weights keep their
// float32 master copy, only the multiplication's inputs lose mantissa bits).
//
//   bfloat16 = the top 16 bits of a float32: sign, the same 8-bit exponent, 7 mantissa bits.
//   Rounding to nearest, ties to even:  bits + 0x7fff + (bit 16 of bits), then keep the top 16.
//   NaN stays NaN (made quiet, so rounding can never turn it into Inf); ±Inf and ±0 are exact;
//   a subnormal float32 becomes ±0 (its sign kept). This is VCVTNE2PS2BF16's rule, which packs
//   32 floats in one instruction; values below 1.2e-38 carry nothing a product in training needs.
//
//   C[M, N] = alpha · bf16(op(A))[M, K] · bf16(op(B))[K, N] + beta · C       (float32 sums)
//
// Paths, chosen once at run time from cpuid (one binary runs everywhere), the first this CPU has:
//   amx        - TDPBF16PS on AMX tiles (Intel Sapphire Rapids and later): one instruction
//                multiplies 16 × 32 by 32 × 16; four accumulator tiles make a 32 × 32 block of C
//                (kernels/amx_tiles.hpp; Linux must grant the tile data, asked once);
//   avx512bf16 - VDPBF16PS: each 32-bit lane multiplies a pair of bfloat16 (k, k+1) from A and B
//                and adds both products to a float32 accumulator; a 14 × 32 register tile;
//   emulated   - the operands rounded to bfloat16 and kept as float32, then the float32 GEMM:
//                the same rounding, portable, the reference the fast paths are tested against;
// and one never chosen by itself:
//   amx-model  - the amx path's loops, packing and edges on amx::ModelTiles, a scalar model of the
//                tile instructions: any CPU with AVX512-BF16 tests the amx path's logic (slow).
// SF_ISA=amx|avx512bf16|amx-model|emulated (environment) forces a path; naming one this CPU
// lacks is an error.
// Each path gives the same bits for any thread count (every element of C is one fixed chain of
// operations); the paths differ in the order the pairs are summed, within float32 rounding.
#pragma once

#include <cstdint>
#include <string>

#include "sf/core/kernels/gemm.hpp"

namespace sf::kernels {

std::uint16_t float_to_bfloat16(float value);
float bfloat16_to_float(std::uint16_t bits);
// value rounded to the nearest bfloat16, as a float32.
inline float round_to_bfloat16(float value) { return bfloat16_to_float(float_to_bfloat16(value)); }

enum class Bfloat16Path { Emulated, Avx512Bf16, Amx, AmxModel };
bool bfloat16_path_available(Bfloat16Path path);
// The path gemm_bfloat16 takes: SF_ISA when set (an error if unknown or unavailable), else the
// fastest this CPU has.
Bfloat16Path bfloat16_path();
const char* bfloat16_path_name(Bfloat16Path path);

void gemm_bfloat16(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N, std::int64_t K,
                   float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta,
                   float* C, std::int64_t ldc);
// The same on a given path (tests and benchmarks compare paths on one machine).
void gemm_bfloat16(Bfloat16Path path, Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N,
                   std::int64_t K, float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
                   float beta, float* C, std::int64_t ldc);

// The same with bfloat16 operands, given as their bits (an activation or a weight kept in
// bfloat16): nothing to round and half the bytes to read; a row-major A whose rows hold whole
// pairs (K and lda even) is read where it lies, without packing. The same bits as the float32
// form given the float32 values of these bfloat16s.
void gemm_bfloat16(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N, std::int64_t K,
                   float alpha, const std::uint16_t* A, std::int64_t lda, const std::uint16_t* B, std::int64_t ldb,
                   float beta, float* C, std::int64_t ldc);
void gemm_bfloat16(Bfloat16Path path, Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N,
                   std::int64_t K, float alpha, const std::uint16_t* A, std::int64_t lda, const std::uint16_t* B,
                   std::int64_t ldb, float beta, float* C, std::int64_t ldc);

// C = alpha · bf16(op(A)) · bf16(op(B)) + bias, the bias row (N float32 values) added to every
// row; C's old content is ignored. The bias is added in the micro-kernel's last step, the same
// bits as copying it into every row of C and calling gemm_bfloat16 with beta = 1, without
// writing C twice and reading it back (a linear layer's forward).
void gemm_bfloat16_with_bias(Transpose transpose_a, Transpose transpose_b, std::int64_t M, std::int64_t N,
                             std::int64_t K, float alpha, const float* A, std::int64_t lda, const float* B,
                             std::int64_t ldb, const float* bias, float* C, std::int64_t ldc);
void gemm_bfloat16_with_bias(Bfloat16Path path, Transpose transpose_a, Transpose transpose_b, std::int64_t M,
                             std::int64_t N, std::int64_t K, float alpha, const float* A, std::int64_t lda,
                             const float* B, std::int64_t ldb, const float* bias, float* C, std::int64_t ldc);
// `batch` independent products, entry e reading A + e·stride_a and B + e·stride_b and writing
// C + e·stride_c: the same bits as one gemm_bfloat16 per entry. Small entries (attention's
// per-head products) run one entry per task instead of splitting each tiny GEMM across threads.
void gemm_bfloat16_batched_strided(Transpose transpose_a, Transpose transpose_b, std::int64_t batch, std::int64_t M,
                                   std::int64_t N, std::int64_t K, float alpha, const float* A, std::int64_t lda,
                                   std::int64_t stride_a, const float* B, std::int64_t ldb, std::int64_t stride_b,
                                   float beta, float* C, std::int64_t ldc, std::int64_t stride_c);
void gemm_bfloat16_batched_strided(Bfloat16Path path, Transpose transpose_a, Transpose transpose_b, std::int64_t batch,
                                   std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* A,
                                   std::int64_t lda, std::int64_t stride_a, const float* B, std::int64_t ldb,
                                   std::int64_t stride_b, float beta, float* C, std::int64_t ldc,
                                   std::int64_t stride_c);

}  // namespace sf::kernels
