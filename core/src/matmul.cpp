// matmul over the GEMM kernel (shapes in matmul.hpp).
//
//   out[..., M, N] = alpha · op(a)[..., M, K] · op(b)[..., K, N] + beta · out[..., M, N]
//
// Steps: (1) read the layout of each operand's last two dims (row-major, column-major = a
// transposed view, or neither → contiguous copy), (2) broadcast the batch dims into stride-0
// batch strides, (3) merge batch dims that are contiguous for a, b and out alike, (4) one
// gemm_batched_strided call per index of the remaining outer batch dims (usually one call).
#include "sf/core/matmul.hpp"

#include <algorithm>
#include <atomic>
#include <string>
#include <type_traits>
#include <vector>

#include "sf/core/kernels/gemm.hpp"
#include "sf/core/kernels/gemm_bf16.hpp"

namespace sf::compute {
namespace {

using kernels::Transpose;

std::atomic<MatmulPrecision> current_precision{MatmulPrecision::Float32};

template <class T>
bool rounds_to_bfloat16() {
  return std::is_same_v<T, float> && current_precision.load(std::memory_order_relaxed) == MatmulPrecision::Bfloat16;
}

// gemm_batched_strided, or its bfloat16 counterpart.
template <class T>
void batched_product(Transpose transpose_a, Transpose transpose_b, std::int64_t batch, std::int64_t M, std::int64_t N,
                     std::int64_t K, T alpha, const T* A, std::int64_t lda, std::int64_t stride_a, const T* B,
                     std::int64_t ldb, std::int64_t stride_b, T beta, T* C, std::int64_t ldc, std::int64_t stride_c) {
  if constexpr (std::is_same_v<T, float>) {
    if (rounds_to_bfloat16<T>()) {
      kernels::gemm_bfloat16_batched_strided(transpose_a, transpose_b, batch, M, N, K, alpha, A, lda, stride_a, B, ldb,
                                             stride_b, beta, C, ldc, stride_c);
      return;
    }
  }
  kernels::gemm_batched_strided<T>(transpose_a, transpose_b, batch, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b,
                                   beta, C, ldc, stride_c);
}


// How the GEMM reads the last two dims of one operand.
struct MatrixOperand {
  Tensor tensor;        // the operand, or its contiguous copy
  Transpose transpose;  // the GEMM flag: requested transpose XOR column-major storage
  std::int64_t ld;      // row stride of the matrix as stored
};

MatrixOperand prepare_operand(const Tensor& x, bool transpose_requested) {
  const std::size_t last = static_cast<std::size_t>(x.dim() - 1);
  const std::int64_t rows = x.shape()[last - 1], columns = x.shape()[last];
  const std::int64_t row_stride = x.strides()[last - 1], column_stride = x.strides()[last];
  const Transpose requested = transpose_requested ? Transpose::Yes : Transpose::No;
  const Transpose flipped = transpose_requested ? Transpose::No : Transpose::Yes;
  // A dimension of size 1 may have any stride.
  const bool row_major = (columns == 1 || column_stride == 1) &&
                         (rows == 1 || row_stride >= std::max<std::int64_t>(1, columns));
  const bool column_major = (rows == 1 || row_stride == 1) &&
                            (columns == 1 || column_stride >= std::max<std::int64_t>(1, rows));
  if (row_major) return {x, requested, rows == 1 ? std::max<std::int64_t>(1, columns) : row_stride};
  if (column_major) return {x, flipped, columns == 1 ? std::max<std::int64_t>(1, rows) : column_stride};
  return {x.contiguous(), requested, std::max<std::int64_t>(1, columns)};
}

// One batch dimension after broadcasting: its size and the element strides of a, b and out.
struct BatchDim {
  std::int64_t size, stride_a, stride_b, stride_out;
};

// Product shape [batch..., M, N] of a and b, with all the checks and their messages.
struct Product {
  Shape shape;
  std::int64_t M, N, K;
};

Product product_shape(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, const char* op) {
  check_same_dtype(a, b, op);
  if (a.dim() < 2 || b.dim() < 2)
    fail("{}: operands need at least 2 dims, got {} vs {} (unsqueeze a vector first)", op,
         shape_string(a.shape()), shape_string(b.shape()));
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  const std::size_t ra = sa.size(), rb = sb.size();
  const std::int64_t M = transpose_a ? sa[ra - 1] : sa[ra - 2], K_a = transpose_a ? sa[ra - 2] : sa[ra - 1];
  const std::int64_t K_b = transpose_b ? sb[rb - 1] : sb[rb - 2], N = transpose_b ? sb[rb - 2] : sb[rb - 1];
  if (K_a != K_b) {
    std::string hint;
    if (transpose_a || transpose_b)
      hint = transpose_a && transpose_b ? " (both transposed)" : transpose_a ? " (a transposed)" : " (b transposed)";
    fail("{}: inner dimensions differ: {} vs {}{}", op, shape_string(sa), shape_string(sb), hint);
  }
  const std::size_t batch_dims = std::max(ra, rb) - 2;
  Shape shape(batch_dims + 2);
  for (std::size_t axis = 0; axis < batch_dims; ++axis) {
    const std::size_t from_end = batch_dims - axis;  // 1 = the last batch dim
    const std::int64_t size_a = from_end <= ra - 2 ? sa[ra - 2 - from_end] : 1;
    const std::int64_t size_b = from_end <= rb - 2 ? sb[rb - 2 - from_end] : 1;
    if (size_a != size_b && size_a != 1 && size_b != 1)
      fail("{}: batch dimensions do not broadcast: {} vs {}", op, shape_string(sa), shape_string(sb));
    shape[axis] = size_a == 1 ? size_b : size_a;
  }
  shape[batch_dims] = M;
  shape[batch_dims + 1] = N;
  return {shape, M, N, K_a};
}

// Batch strides of `x` for the product's batch shape (0 where x is broadcast).
std::int64_t batch_stride(const Tensor& x, const Shape& batch_shape, std::size_t axis) {
  const std::size_t x_batch = x.shape().size() - 2;
  const std::size_t from_end = batch_shape.size() - axis;
  if (from_end > x_batch) return 0;
  const std::size_t x_axis = x_batch - from_end;
  return x.shape()[x_axis] == 1 ? 0 : x.strides()[x_axis];
}

template <class T>
void run_product(Tensor& out, const Tensor& a_input, const Tensor& b_input, bool transpose_a, bool transpose_b,
                 const Product& product, double alpha, double beta) {
  const std::int64_t M = product.M, N = product.N, K = product.K;
  const std::int64_t matrices = M * N == 0 ? 0 : out.numel() / (M * N);
  T* out_data = out.data<T>();
  if (matrices == 0) return;
  if (K == 0) {  // out = beta · out; the operands are empty and never read
    kernels::gemm_batched_strided<T>(Transpose::No, Transpose::No, matrices, M, N, 0, T(alpha), nullptr, 1, 0,
                                     nullptr, N, 0, T(beta), out_data, N, M * N);
    return;
  }
  const MatrixOperand a = prepare_operand(a_input, transpose_a);
  const MatrixOperand b = prepare_operand(b_input, transpose_b);
  // Batch dims: drop size-1 dims, merge an outer dim into the next when it is contiguous over
  // it for a, b and out alike ([2, 3] batches of a contiguous tensor become one [6] batch).
  const Shape batch_shape(product.shape.begin(), product.shape.end() - 2);
  std::int64_t out_stride = M * N;
  std::vector<BatchDim> reversed;
  for (std::size_t axis = batch_shape.size(); axis-- > 0;) {
    const BatchDim dim{batch_shape[axis], batch_stride(a.tensor, batch_shape, axis),
                       batch_stride(b.tensor, batch_shape, axis), out_stride};
    out_stride *= batch_shape[axis];
    if (dim.size == 1) continue;
    if (!reversed.empty()) {
      BatchDim& inner = reversed.back();
      if (dim.stride_a == inner.stride_a * inner.size && dim.stride_b == inner.stride_b * inner.size &&
          dim.stride_out == inner.stride_out * inner.size) {
        inner.size *= dim.size;
        continue;
      }
    }
    reversed.push_back(dim);
  }
  const std::vector<BatchDim> dims(reversed.rbegin(), reversed.rend());
  const BatchDim innermost = dims.empty() ? BatchDim{1, 0, 0, 0} : dims.back();
  const std::size_t outer_dims = dims.empty() ? 0 : dims.size() - 1;
  std::int64_t outer_count = 1;
  for (std::size_t axis = 0; axis < outer_dims; ++axis) outer_count *= dims[axis].size;
  const T* a_data = a.tensor.data<T>();
  const T* b_data = b.tensor.data<T>();
  for (std::int64_t outer = 0; outer < outer_count; ++outer) {
    std::int64_t remainder = outer, offset_a = 0, offset_b = 0, offset_out = 0;
    for (std::size_t axis = outer_dims; axis-- > 0;) {
      const std::int64_t index = remainder % dims[axis].size;
      remainder /= dims[axis].size;
      offset_a += index * dims[axis].stride_a;
      offset_b += index * dims[axis].stride_b;
      offset_out += index * dims[axis].stride_out;
    }
    batched_product<T>(a.transpose, b.transpose, innermost.size, M, N, K, T(alpha), a_data + offset_a, a.ld,
                       innermost.stride_a, b_data + offset_b, b.ld, innermost.stride_b, T(beta), out_data + offset_out, N,
                       innermost.stride_out);
  }
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  const Product product = product_shape(a, b, transpose_a, transpose_b, "matmul");
  Tensor out = Tensor::empty(product.shape, a.dtype());
  dispatch_dtype(a.dtype(), [&](auto tag) {
    run_product<decltype(tag)>(out, a, b, transpose_a, transpose_b, product, 1.0, 0.0);
  });
  return out;
}

void matmul_into(Tensor& out, const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, double alpha,
                 double beta) {
  const Product product = product_shape(a, b, transpose_a, transpose_b, "matmul_into");
  SF_CHECK(out.defined(), "matmul_into: the output tensor is undefined");
  SF_CHECK(out.dtype() == a.dtype(), "matmul_into: output dtype {} differs from the operands' {} ({} vs {})",
           dtype_name(out.dtype()), dtype_name(a.dtype()), shape_string(a.shape()), shape_string(b.shape()));
  SF_CHECK(out.shape() == product.shape, "matmul_into: output shape {} differs from the product shape {} of {} and {}",
           shape_string(out.shape()), shape_string(product.shape), shape_string(a.shape()), shape_string(b.shape()));
  SF_CHECK(out.is_contiguous(), "matmul_into: the output {} must be contiguous", out.describe());
  SF_CHECK(out.numel() == 0 || (out.storage() != a.storage() && out.storage() != b.storage()),
           "matmul_into: the output {} shares storage with an operand ({} and {})", shape_string(out.shape()),
           shape_string(a.shape()), shape_string(b.shape()));
  dispatch_dtype(a.dtype(), [&](auto tag) {
    run_product<decltype(tag)>(out, a, b, transpose_a, transpose_b, product, alpha, beta);
  });
  out.bump_version();
}

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  check_same_dtype(input, weight, "linear");
  if (!bias.defined()) {  // no bias: the plain product
    if (input.dim() != 2 || weight.dim() != 2 || input.size(1) != weight.size(1))
      fail("linear: expected input [M, K] and weight [N, K], got {} and {}", shape_string(input.shape()),
           shape_string(weight.shape()));
    Tensor out = Tensor::empty({input.size(0), weight.size(0)}, input.dtype());
    matmul_into(out, input, weight, false, true, 1.0, 0.0);
    return out;
  }
  check_same_dtype(input, bias, "linear");
  if (input.dim() != 2 || weight.dim() != 2 || bias.dim() != 1 || input.size(1) != weight.size(1) ||
      bias.size(0) != weight.size(0))
    fail("linear: expected input [M, K], weight [N, K] and bias [N], got {}, {} and {}", shape_string(input.shape()),
         shape_string(weight.shape()), shape_string(bias.shape()));
  const std::int64_t M = input.size(0), N = weight.size(0), K = input.size(1);
  Tensor out = Tensor::empty({M, N}, input.dtype());
  const MatrixOperand a = prepare_operand(input, false);
  const MatrixOperand b = prepare_operand(weight, true);
  const Tensor bias_values = bias.contiguous();
  dispatch_dtype(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (rounds_to_bfloat16<T>()) {
      if constexpr (std::is_same_v<T, float>)
        kernels::gemm_bfloat16_with_bias(a.transpose, b.transpose, M, N, K, 1.0f, a.tensor.data<T>(), a.ld,
                                         b.tensor.data<T>(), b.ld, bias_values.data<T>(), out.data<T>(), N);
      return;
    }
    kernels::gemm_with_bias<T>(a.transpose, b.transpose, M, N, K, T(1), a.tensor.data<T>(), a.ld,
                               b.tensor.data<T>(), b.ld, bias_values.data<T>(), out.data<T>(), N);
  });
  return out;
}

void set_matmul_precision(MatmulPrecision precision) { current_precision.store(precision); }
MatmulPrecision matmul_precision() { return current_precision.load(); }

}  // namespace sf::compute
