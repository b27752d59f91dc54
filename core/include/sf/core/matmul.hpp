// Tensor-level matrix product over the GEMM of kernels/gemm.hpp.
//
//   a: [..., M, K]  (or [..., K, M] with transpose_a: the product uses aᵀ of the last two dims)
//   b: [..., K, N]  (or [..., N, K] with transpose_b)
//   result: [broadcast(a batch, b batch)..., M, N], contiguous, same dtype as a and b.
//
// Batch dimensions broadcast NumPy-style without copies (stride-0 batch strides). Both operands
// need at least 2 dims (unsqueeze a vector first). Views are used as they are when their last two
// dims are row-major with any row stride, or column-major (a transposed view, as from
// transpose(-1, -2)): the GEMM then reads them with its Transpose flag flipped. Other layouts are
// copied with contiguous() first.
//
// Errors name the op and print every shape, e.g.
//   "matmul: inner dimensions differ: [32, 128] vs [64, 16]".
#pragma once

#include "sf/core/tensor.hpp"

namespace sf::compute {

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);

// out = alpha · (a · b) + beta · out, with the same operand conventions as matmul. `out` must be
// contiguous, already have the result's shape and dtype, and not share storage with a or b.
// beta == 0 ignores out's old content (used by autograd to accumulate gradients with beta = 1).
void matmul_into(Tensor& out, const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b,
                 double alpha = 1, double beta = 0);

// A linear layer's forward on rows: input [M, K] · weightᵀ ([N, K]) + bias [N] -> [M, N],
// the bias added inside the GEMM (kernels::gemm_with_bias) rather than copied into the output
// first. Same bits as copying the bias into the output and matmul_into(..., beta = 1). An
// undefined bias is no bias: input · weightᵀ, matmul_into's bits.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias);

// The arithmetic of float32 products (matmul, matmul_into, linear, so the forward and both
// backward GEMMs of every layer built on them): Float32, or Bfloat16 - the operands rounded to
// bfloat16 while packed, the sums in float32 (kernels/gemm_bf16.hpp). float64 products are never
// rounded. Process-wide; MatmulPrecisionGuard sets it for a scope (the trainer, for a run).
enum class MatmulPrecision { Float32, Bfloat16 };
void set_matmul_precision(MatmulPrecision precision);
MatmulPrecision matmul_precision();
class MatmulPrecisionGuard {
 public:
  explicit MatmulPrecisionGuard(MatmulPrecision precision) : previous_(matmul_precision()) {
    set_matmul_precision(precision);
  }
  ~MatmulPrecisionGuard() { set_matmul_precision(previous_); }
  MatmulPrecisionGuard(const MatmulPrecisionGuard&) = delete;
  MatmulPrecisionGuard& operator=(const MatmulPrecisionGuard&) = delete;

 private:
  MatmulPrecision previous_;
};

}  // namespace sf::compute
