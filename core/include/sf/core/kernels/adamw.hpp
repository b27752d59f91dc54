// Fused AdamW update (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"), in
// PyTorch's torch.optim.AdamW order of operations (single-tensor path), for `count` elements:
//
//   p ← p (1 - lr·wd)                                  decoupled weight decay, before the step
//   m ← m + (1 - β1)(g - m)     = β1 m + (1 - β1) g    (PyTorch: exp_avg.lerp_(grad, 1 - β1))
//   v ← β2 v + (1 - β2) g²
//   m̂ = m / (1 - β1^t),  v̂ = v / (1 - β2^t)
//   p ← p - lr m̂ / (√v̂ + ε)   computed as  p - (lr / (1 - β1^t)) m / (√v / √(1 - β2^t) + ε)
//
// parameter, gradient, first_moment (m), second_moment (v): [count], updated in place.
// t = step.step counts from 1. Scalar coefficients are formed in double, then rounded to T.
#pragma once

#include <cstdint>

namespace sf::kernels {

struct AdamWStep {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 1e-2;
  std::int64_t step = 1;  // t >= 1: the number of this update, for the bias corrections
};

template <class T>
void adamw_update(T* parameter, const T* gradient, T* first_moment, T* second_moment, std::int64_t count,
                  const AdamWStep& step);
// The textbook formulas above (m̂, v̂ written out), scalar.
template <class T>
void adamw_update_reference(T* parameter, const T* gradient, T* first_moment, T* second_moment, std::int64_t count,
                            const AdamWStep& step);

}  // namespace sf::kernels
