// Fused AdamW; see kernels/adamw.hpp for the update rule.
#include "sf/core/kernels/adamw.hpp"

#include <cmath>

#include "sf/core/kernels/simd.hpp"
#include "sf/core/parallel.hpp"

namespace sf::kernels {

template <class T>
void adamw_update(T* parameter, const T* gradient, T* first_moment, T* second_moment, std::int64_t count,
                  const AdamWStep& step) {
  using simd::Batch;
  const double t = static_cast<double>(step.step);
  const double bias_correction1 = 1.0 - std::pow(step.beta1, t);
  const double bias_correction2 = 1.0 - std::pow(step.beta2, t);
  const Batch<T> decay(static_cast<T>(1.0 - step.learning_rate * step.weight_decay));
  const Batch<T> first_weight(static_cast<T>(1.0 - step.beta1));
  const Batch<T> beta2(static_cast<T>(step.beta2)), second_weight(static_cast<T>(1.0 - step.beta2));
  const Batch<T> step_size(static_cast<T>(step.learning_rate / bias_correction1));
  const Batch<T> correction2_sqrt(static_cast<T>(std::sqrt(bias_correction2)));
  const Batch<T> epsilon(static_cast<T>(step.epsilon));
  parallel::parallel_for(0, count, parallel::grain::elementwise / 4, [&](std::int64_t begin, std::int64_t end) {
    simd::for_each_batch<T>(begin, end, [&](std::int64_t index, std::int64_t valid) {
      const Batch<T> g = simd::load(gradient + index, valid);
      const Batch<T> p = simd::load(parameter + index, valid) * decay;
      Batch<T> m = simd::load(first_moment + index, valid);
      m = xsimd::fma(first_weight, g - m, m);
      const Batch<T> v = xsimd::fma(second_weight, g * g, beta2 * simd::load(second_moment + index, valid));
      const Batch<T> denominator = xsimd::sqrt(v) / correction2_sqrt + epsilon;
      simd::store(m, first_moment + index, valid);
      simd::store(v, second_moment + index, valid);
      simd::store(p - step_size * (m / denominator), parameter + index, valid);
    });
  });
}

template <class T>
void adamw_update_reference(T* parameter, const T* gradient, T* first_moment, T* second_moment, std::int64_t count,
                            const AdamWStep& step) {
  const T lr = static_cast<T>(step.learning_rate), beta1 = static_cast<T>(step.beta1);
  const T beta2 = static_cast<T>(step.beta2), epsilon = static_cast<T>(step.epsilon);
  const T weight_decay = static_cast<T>(step.weight_decay);
  const T correction1 = T(1) - std::pow(beta1, static_cast<T>(step.step));
  const T correction2 = T(1) - std::pow(beta2, static_cast<T>(step.step));
  for (std::int64_t index = 0; index < count; ++index) {
    const T g = gradient[index];
    parameter[index] -= lr * weight_decay * parameter[index];
    first_moment[index] = beta1 * first_moment[index] + (T(1) - beta1) * g;
    second_moment[index] = beta2 * second_moment[index] + (T(1) - beta2) * g * g;
    const T m_hat = first_moment[index] / correction1;
    const T v_hat = second_moment[index] / correction2;
    parameter[index] -= lr * m_hat / (std::sqrt(v_hat) + epsilon);
  }
}

template void adamw_update<float>(float*, const float*, float*, float*, std::int64_t, const AdamWStep&);
template void adamw_update<double>(double*, const double*, double*, double*, std::int64_t, const AdamWStep&);
template void adamw_update_reference<float>(float*, const float*, float*, float*, std::int64_t, const AdamWStep&);
template void adamw_update_reference<double>(double*, const double*, double*, double*, std::int64_t,
                                             const AdamWStep&);

}  // namespace sf::kernels
