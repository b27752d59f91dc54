// Softmax and log-softmax over the rows of a contiguous [rows, length] array, forward and backward.
//
//   softmax:      y_j = e^(x_j - m) / Σ_k e^(x_k - m),   m = max_k x_k  (subtracting m keeps every
//                 exponent <= 0, so nothing overflows; the result is unchanged mathematically)
//   log_softmax:  y_j = x_j - m - log Σ_k e^(x_k - m)
//   softmax_backward:      grad_x = y ⊙ (grad_y - Σ_k grad_y_k y_k)     (Jacobian diag(y) - y yᵀ)
//   log_softmax_backward:  grad_x = grad_y - e^y Σ_k grad_y_k           (Jacobian I - 1 softmaxᵀ)
//   cross_entropy_backward: from y = log_softmax(z), targets t and per-row scales s,
//                 grad_z[n, j] = s_n (e^(y_nj) - q_nj),   q_n = (1 - ε) onehot(t_n) + ε / length
//                 (the gradient of Σ_n s_n loss_n, loss_n = -Σ_j q_nj y_nj); a row with s_n = 0 is
//                 all zeros and its target is not read (ignored rows).
//
// A row that is entirely -inf (fully masked) has no probability mass: softmax gives 0 for every
// entry (not the NaN of -inf - -inf) and log_softmax gives -inf (the log of those zeros).
// Rows are independent and each is computed in a fixed order, so results are bit-identical for
// any thread count.
#pragma once

#include <cstdint>

namespace sf::kernels {

template <class T>
void softmax(const T* x, T* y, std::int64_t rows, std::int64_t length);
template <class T>
void softmax_reference(const T* x, T* y, std::int64_t rows, std::int64_t length);

template <class T>
void log_softmax(const T* x, T* y, std::int64_t rows, std::int64_t length);
template <class T>
void log_softmax_reference(const T* x, T* y, std::int64_t rows, std::int64_t length);

template <class T>
void softmax_backward(const T* y, const T* grad_y, T* grad_x, std::int64_t rows, std::int64_t length);
template <class T>
void softmax_backward_reference(const T* y, const T* grad_y, T* grad_x, std::int64_t rows, std::int64_t length);

template <class T>
void log_softmax_backward(const T* y, const T* grad_y, T* grad_x, std::int64_t rows, std::int64_t length);
template <class T>
void log_softmax_backward_reference(const T* y, const T* grad_y, T* grad_x, std::int64_t rows,
                                    std::int64_t length);

template <class T>
void cross_entropy_backward(const T* y, const std::int64_t* targets, const double* scales, double smoothing, T* grad_z,
                            std::int64_t rows, std::int64_t length);
template <class T>
void cross_entropy_backward_reference(const T* y, const std::int64_t* targets, const double* scales, double smoothing,
                                      T* grad_z, std::int64_t rows, std::int64_t length);

}  // namespace sf::kernels
