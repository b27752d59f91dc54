// Tensor-level gating functions: checks, then the kernels of kernels/gating.hpp.
#include <array>

#include "broadcast.hpp"
#include "sf/core/compute_gating.hpp"
#include "sf/core/kernels/gating.hpp"

namespace sf::compute {
namespace {

using detail::check_defined;

// The tensors of one elementwise gating op: defined, one shape, one dtype.
void check_same(const char* op, std::initializer_list<std::pair<const char*, const Tensor*>> tensors) {
  const Tensor& first = *tensors.begin()->second;
  for (const auto& [name, tensor] : tensors) check_defined(*tensor, op, name);
  for (const auto& [name, tensor] : tensors) {
    if (tensor->shape() != first.shape()) {
      std::string shapes;
      for (const auto& [other_name, other] : tensors)
        shapes += fmt::format("{}{} {}", shapes.empty() ? "" : ", ", other_name, shape_string(other->shape()));
      fail("{}: inputs must have one shape, got {}", op, shapes);
    }
    check_same_dtype(first, *tensor, op);
  }
}

// One output from three same-shaped inputs: kernel(a, b, c, output, count) on their dtype.
template <class Kernel>
Tensor map_three(const char* op, const std::array<const char*, 3>& names, const Tensor& a, const Tensor& b,
                 const Tensor& c, Kernel kernel) {
  check_same(op, {{names[0], &a}, {names[1], &b}, {names[2], &c}});
  const Tensor as = a.contiguous(), bs = b.contiguous(), cs = c.contiguous();
  Tensor output = Tensor::empty(a.shape(), a.dtype());
  dispatch_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernel(as.data<T>(), bs.data<T>(), cs.data<T>(), output.data<T>(), output.numel());
  });
  return output;
}

}  // namespace

Tensor neighbor_mean(const Tensor& x) {
  check_defined(x, "neighbor_mean", "input");
  if (x.dim() < 2) fail("neighbor_mean: input {} needs a batch axis 0 and a sequence axis 1", shape_string(x.shape()));
  const Tensor input = x.contiguous();
  Tensor output = Tensor::empty(x.shape(), x.dtype());
  if (output.numel() == 0) return output;
  const std::int64_t batch = x.size(0), length = x.size(1), width = x.numel() / (batch * length);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::neighbor_mean(input.data<T>(), output.data<T>(), batch, length, width);
  });
  return output;
}

Tensor gated_interpolation(const Tensor& x, const Tensor& u, const Tensor& g) {
  return map_three("gated_interpolation", {"x", "u", "g"}, x, u, g, [](auto... pointers_and_count) {
    kernels::gated_interpolation(pointers_and_count...);
  });
}

GatedInterpolationGrads gated_interpolation_backward(const Tensor& x, const Tensor& u, const Tensor& g,
                                                     const Tensor& grad) {
  check_same("gated_interpolation_backward", {{"x", &x}, {"u", &u}, {"g", &g}, {"gradient", &grad}});
  const Tensor xs = x.contiguous(), us = u.contiguous(), gs = g.contiguous(), upstream = grad.contiguous();
  GatedInterpolationGrads grads{Tensor::empty(x.shape(), x.dtype()), Tensor::empty(x.shape(), x.dtype()),
                                Tensor::empty(x.shape(), x.dtype())};
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::gated_interpolation_backward(xs.data<T>(), us.data<T>(), gs.data<T>(), upstream.data<T>(),
                                          grads.grad_x.data<T>(), grads.grad_u.data<T>(), grads.grad_g.data<T>(),
                                          x.numel());
  });
  return grads;
}

Tensor gated_residual(const Tensor& x, const Tensor& g, const Tensor& u) {
  return map_three("gated_residual", {"x", "g", "u"}, x, g, u, [](auto... pointers_and_count) {
    kernels::gated_residual(pointers_and_count...);
  });
}

GatedResidualGrads gated_residual_backward(const Tensor& g, const Tensor& u, const Tensor& grad) {
  check_same("gated_residual_backward", {{"g", &g}, {"u", &u}, {"gradient", &grad}});
  const Tensor gs = g.contiguous(), us = u.contiguous(), upstream = grad.contiguous();
  GatedResidualGrads grads{Tensor::empty(g.shape(), g.dtype()), Tensor::empty(g.shape(), g.dtype())};
  dispatch_dtype(g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::gated_residual_backward(gs.data<T>(), us.data<T>(), upstream.data<T>(), grads.grad_g.data<T>(),
                                     grads.grad_u.data<T>(), g.numel());
  });
  return grads;
}

}  // namespace sf::compute
