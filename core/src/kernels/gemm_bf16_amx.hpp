// The AMX path of the bfloat16 GEMM (internal to core/src/kernels/gemm_bf16.cpp; the tile
// instructions are in sf/core/kernels/amx_tiles.hpp, the loop in gemm_bf16_amx.cpp).
//
// gemm_bf16.cpp packs B and plans the tasks for both fast paths; this path asks for B's slivers
// padded to whole tiles along k (pair_multiple pairs, zero) and for row bands in multiples of
// row_multiple, then computes each task's block of C here.
#pragma once

#include <cstdint>

#include "sf/core/kernels/gemm.hpp"

namespace sf::kernels::bf16_amx {

constexpr std::int64_t pair_multiple = 16;  // k-pairs of one tile step: a B sliver's pairs are padded to it
constexpr std::int64_t row_multiple = 32;   // rows of two A tiles: the task bands' rows are multiples of it
constexpr std::int64_t block_rows = 256;    // rows of A packed per block at most

// The block of C at rows [row0, row0 + rows) × columns [column0, column0 + columns) (column0 a
// multiple of 32), every k slice, from B packed as bf16_packing::pack_b_sliver lays it out with
// `padded_pairs` pairs per sliver; the bias (nullptr or N values) goes into the first slice.
// `model`: on amx::ModelTiles instead of the instructions.
template <class Source>
void compute_block(bool model, Transpose transpose_a, std::int64_t K, float alpha, const Source* A, std::int64_t lda,
                   const std::uint32_t* b_packed, std::int64_t padded_pairs, float beta, const float* bias, float* C,
                   std::int64_t ldc, std::int64_t row0, std::int64_t rows, std::int64_t column0, std::int64_t columns);

}  // namespace sf::kernels::bf16_amx
