// Layer normalization over the rows of a contiguous [rows, D] array (Ba, Kiros & Hinton 2016).
//
// Forward, per row (biased variance, as PyTorch):
//   μ = (1/D) Σ_j x_j,   σ² = (1/D) Σ_j (x_j - μ)²   (two passes: stable when |μ| >> σ)
//   r = 1/√(σ² + eps),   x̂_j = (x_j - μ) r,   y_j = x̂_j w_j + b_j
// Backward, per row, with ĝ_j = grad_y_j w_j (differentiating through μ and r):
//   grad_x_j = r (ĝ_j - (1/D) Σ_k ĝ_k - x̂_j (1/D) Σ_k ĝ_k x̂_k)
//   grad_w_j = Σ_rows grad_y_j x̂_j,   grad_b_j = Σ_rows grad_y_j
//
// Shapes: x, y, grad_y, grad_x [rows, D]; weight, bias, grad_weight, grad_bias [D] (weight and
// bias may be nullptr: w = 1, b = 0); mean, inverse_std [rows].
// Determinism: rows are independent; grad_w and grad_b are summed over fixed chunks of rows
// (the chunk size depends on D only) into a caller-provided workspace, and the chunk partials are
// combined in chunk order, so results are bit-identical for any thread count.
#pragma once

#include <cstdint>

namespace sf::kernels {

template <class T>
void layer_norm(const T* x, const T* weight, const T* bias, std::int64_t rows, std::int64_t D, T eps, T* y, T* mean,
                T* inverse_std);
template <class T>
void layer_norm_reference(const T* x, const T* weight, const T* bias, std::int64_t rows, std::int64_t D, T eps, T* y,
                          T* mean, T* inverse_std);

// Elements of workspace layer_norm_backward needs (0 when neither grad_weight nor grad_bias is wanted).
std::int64_t layer_norm_backward_workspace_size(std::int64_t rows, std::int64_t D);

// grad_weight / grad_bias may be nullptr when not wanted (then workspace may be nullptr too).
template <class T>
void layer_norm_backward(const T* grad_y, const T* x, const T* mean, const T* inverse_std, const T* weight,
                         std::int64_t rows, std::int64_t D, T* grad_x, T* grad_weight, T* grad_bias, T* workspace);
template <class T>
void layer_norm_backward_reference(const T* grad_y, const T* x, const T* mean, const T* inverse_std, const T* weight,
                                   std::int64_t rows, std::int64_t D, T* grad_x, T* grad_weight, T* grad_bias);

}  // namespace sf::kernels
