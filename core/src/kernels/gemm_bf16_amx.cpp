// The AMX path of the bfloat16 GEMM: a block of C computed 32 × 32 at a time by four
// accumulator tiles (kernels/amx_tiles.hpp for the instructions).
//
//   tiles 0 1      C rows 0-15  × columns 0-15 | 16-31       tile 4: A rows 0-15,  16 pairs
//   tiles 2 3      C rows 16-31 × columns 0-15 | 16-31       tile 5: A rows 16-31, 16 pairs
//                                                            tiles 6, 7: B columns 0-15, 16-31
// One k step (16 pairs, 32 values of k) loads 4 tiles and runs 4 TDPBF16PS: 32 · 32 · 32
// multiply-adds, where the AVX512-BF16 path's step does 14 · 32 · 2.
//
// The operands are the AVX512-BF16 path's packing (gemm_bf16_packing.hpp), read by TILELOADD
// with a stride:
//   B: sliver s, pair p, column j at b[(s·padded_pairs + p)·32 + j] - a B tile is 16 pair-rows
//      of 16 columns, 128 bytes apart (the "VNNI" layout TDPBF16PS wants, as it is);
//   A: row i, pair p at a[i·kcp + p] - an A tile is 16 rows of 16 pairs, 4·kcp bytes apart.
//      A transposed A is first packed pair-major (the other path's layout), then turned row-major
//      16 × 16 words at a time in registers.
// Both are zero past K, up to whole tiles, and A past its rows up to whole tiles, so every tile
// is full: one configuration (16 rows × 64 bytes for all 8 tiles) serves every shape, and the
// edges of C are cut in the write-back, which applies alpha, beta or the bias as the other path
// does. Each element of C is one fixed chain of products whatever the task plan, so any thread
// count gives the same bits.
#include "gemm_bf16_amx.hpp"

#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "gemm_bf16_packing.hpp"
#include "gemm_internal.hpp"
#include "sf/core/kernels/amx_tiles.hpp"

namespace sf::kernels {

bool amx::request_amx_tile_data() {
  static const bool granted = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
    const bool amx_bf16 = (edx >> 22) & 1u, amx_tile = (edx >> 24) & 1u;
    if (!amx_bf16 || !amx_tile) return false;
    constexpr long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;  // <asm/prctl.h>, Linux 5.16
    return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
  }();
  return granted;
}

namespace bf16_amx {
namespace {

using bf16_packing::NR;
constexpr std::int64_t KC = 512;  // k values per slice: 16 tile steps, a B tile pair of 32 KiB per sliver

constexpr std::int64_t round_up(std::int64_t value, std::int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// The 32 × 32 float32 accumulators of rows [0, 32) (two_row_tiles) or [0, 16) of the packed A
// block `a` (row stride a_stride words) times one B sliver `b`, over kcp pairs (a multiple of
// 16), stored into out[32 × 32].
template <bool two_row_tiles, class Tiles>
void multiply_tiles(Tiles& tiles, std::int64_t kcp, const std::uint32_t* a, std::int64_t a_stride,
                    const std::uint32_t* b, float* out) {
  const std::int64_t a_bytes = a_stride * 4, b_bytes = NR * 4;
  tiles.template zero<0>();
  tiles.template zero<1>();
  if constexpr (two_row_tiles) {
    tiles.template zero<2>();
    tiles.template zero<3>();
  }
  for (std::int64_t pair = 0; pair < kcp; pair += 16) {
    tiles.template load<6>(b + pair * NR, b_bytes);
    tiles.template load<7>(b + pair * NR + 16, b_bytes);
    tiles.template load<4>(a + pair, a_bytes);
    tiles.template dot_bfloat16<0, 4, 6>();
    tiles.template dot_bfloat16<1, 4, 7>();
    if constexpr (two_row_tiles) {
      tiles.template load<5>(a + 16 * a_stride + pair, a_bytes);
      tiles.template dot_bfloat16<2, 5, 6>();
      tiles.template dot_bfloat16<3, 5, 7>();
    }
  }
  tiles.template store<0>(out, 32 * 4);
  tiles.template store<1>(out + 16, 32 * 4);
  if constexpr (two_row_tiles) {
    tiles.template store<2>(out + 16 * 32, 32 * 4);
    tiles.template store<3>(out + 16 * 32 + 16, 32 * 4);
  }
}

// C[rows, columns] (at most 32 × 32) = alpha · out + beta · C (beta == 0 never reads C), or with
// a bias alpha · out + bias: the AVX512-BF16 micro-kernel's formulas, masked at the edges.
SF_BF16_TARGET void write_back(const float* out, std::int64_t rows, std::int64_t columns, float alpha, float beta,
                               const float* bias, float* c, std::int64_t ldc) {
  const __m512 alpha_vector = _mm512_set1_ps(alpha), beta_vector = _mm512_set1_ps(beta);
  for (std::int64_t row = 0; row < rows; ++row)
    for (std::int64_t half = 0; half < columns; half += 16) {
      const __mmask16 lanes = bf16_packing::first_lanes(columns - half);
      const __m512 sum = _mm512_load_ps(out + row * 32 + half);
      float* c_part = c + row * ldc + half;
      __m512 result;
      if (bias != nullptr)
        result = _mm512_fmadd_ps(alpha_vector, sum, _mm512_maskz_loadu_ps(lanes, bias + half));
      else if (beta == 0.0f)
        result = _mm512_mul_ps(alpha_vector, sum);
      else
        result = _mm512_fmadd_ps(alpha_vector, sum, _mm512_mul_ps(beta_vector, _mm512_maskz_loadu_ps(lanes, c_part)));
      _mm512_mask_storeu_ps(c_part, lanes, result);
    }
}

// Pairs [pair0, pair0 + kcp) of the block's rows, row-major with kcp_padded words a row and
// rows_padded rows, zero past both. A transposed A goes through `staging` (pair-major).
template <class Source>
SF_BF16_TARGET void pack_block(Transpose transpose_a, const Source* A, std::int64_t lda, std::int64_t K,
                               std::int64_t row0, std::int64_t rows, std::int64_t rows_padded, std::int64_t pair0,
                               std::int64_t kcp, std::int64_t kcp_padded, std::uint32_t* staging,
                               std::uint32_t* packed) {
  if (transpose_a == Transpose::No) {
    bf16_packing::pack_a(transpose_a, A, lda, K, row0, rows, pair0, kcp_padded, packed);  // zero past K
    std::memset(packed + rows * kcp_padded, 0, static_cast<std::size_t>((rows_padded - rows) * kcp_padded) * 4);
    return;
  }
  const std::int64_t stride = bf16_packing::transposed_a_stride(rows);  // ≥ rows_padded, zero past rows
  bf16_packing::pack_a(transpose_a, A, lda, K, row0, rows, pair0, kcp, staging);
  std::memset(staging + kcp * stride, 0, static_cast<std::size_t>((kcp_padded - kcp) * stride) * 4);
  for (std::int64_t row = 0; row < rows_padded; row += 16)
    for (std::int64_t pair = 0; pair < kcp_padded; pair += 16) {
      __m512i words[16];  // words[p] lane r: pair `pair + p` of row `row + r`
      for (std::int64_t p = 0; p < 16; ++p) words[p] = _mm512_loadu_si512(staging + (pair + p) * stride + row);
      bf16_packing::transpose_16x16(words);
      for (std::int64_t r = 0; r < 16; ++r) _mm512_storeu_si512(packed + (row + r) * kcp_padded + pair, words[r]);
    }
}

template <class Tiles, class Source>
SF_BF16_TARGET void compute_block_on(Tiles& tiles, Transpose transpose_a, std::int64_t K, float alpha,
                                     const Source* A, std::int64_t lda, const std::uint32_t* b_packed,
                                     std::int64_t padded_pairs, float beta, const float* bias, float* C,
                                     std::int64_t ldc, std::int64_t row0, std::int64_t rows, std::int64_t column0,
                                     std::int64_t columns) {
  const std::int64_t pairs = (K + 1) / 2, rows_padded = round_up(rows, 16);
  std::uint32_t* packed = gemm_detail::scratch_a().get<std::uint32_t>(2 * block_rows * (KC / 2));
  std::uint32_t* staging = packed + block_rows * (KC / 2);
  tiles.configure(amx::TileConfig{});
  alignas(64) float out[32 * 32];
  for (std::int64_t pair0 = 0; pair0 < pairs; pair0 += KC / 2) {
    const std::int64_t kcp = std::min(KC / 2, pairs - pair0), kcp_padded = round_up(kcp, 16);
    pack_block(transpose_a, A, lda, K, row0, rows, rows_padded, pair0, kcp, kcp_padded, staging, packed);
    const float slice_beta = pair0 == 0 ? beta : 1.0f;
    for (std::int64_t jr = 0; jr < columns; jr += NR) {
      const std::uint32_t* b = b_packed + ((column0 + jr) / NR * padded_pairs + pair0) * NR;
      const float* slice_bias = pair0 == 0 && bias != nullptr ? bias + column0 + jr : nullptr;
      for (std::int64_t ir = 0; ir < rows; ir += 32) {
        const std::uint32_t* a = packed + ir * kcp_padded;
        if (rows - ir > 16)
          multiply_tiles<true>(tiles, kcp_padded, a, kcp_padded, b, out);
        else
          multiply_tiles<false>(tiles, kcp_padded, a, kcp_padded, b, out);
        write_back(out, std::min<std::int64_t>(32, rows - ir), std::min(NR, columns - jr), alpha, slice_beta,
                   slice_bias, C + (row0 + ir) * ldc + column0 + jr, ldc);
      }
    }
  }
  tiles.release();  // the tile state back to its initial, cheap-to-switch form
}

}  // namespace

template <class Source>
void compute_block(bool model, Transpose transpose_a, std::int64_t K, float alpha, const Source* A, std::int64_t lda,
                   const std::uint32_t* b_packed, std::int64_t padded_pairs, float beta, const float* bias, float* C,
                   std::int64_t ldc, std::int64_t row0, std::int64_t rows, std::int64_t column0,
                   std::int64_t columns) {
  if (model) {
    amx::ModelTiles tiles;
    compute_block_on(tiles, transpose_a, K, alpha, A, lda, b_packed, padded_pairs, beta, bias, C, ldc, row0, rows,
                     column0, columns);
  } else {
    amx::HardwareTiles tiles;
    compute_block_on(tiles, transpose_a, K, alpha, A, lda, b_packed, padded_pairs, beta, bias, C, ldc, row0, rows,
                     column0, columns);
  }
}

template void compute_block<float>(bool, Transpose, std::int64_t, float, const float*, std::int64_t,
                                   const std::uint32_t*, std::int64_t, float, const float*, float*, std::int64_t,
                                   std::int64_t, std::int64_t, std::int64_t, std::int64_t);
template void compute_block<std::uint16_t>(bool, Transpose, std::int64_t, float, const std::uint16_t*, std::int64_t,
                                           const std::uint32_t*, std::int64_t, float, const float*, float*,
                                           std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t);

}  // namespace bf16_amx
}  // namespace sf::kernels
