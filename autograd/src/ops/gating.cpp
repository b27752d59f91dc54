// Fused ops of the SwarmFormer blocks: each replaces a chain of elementwise ops (a memory pass
// and a graph node each) with one pass forward and one backward.
//
// neighbor_mean(x) = (roll(x, +1) + x + roll(x, -1)) / 3 along axis 1 (circular):
//   y_i = (x_{i-1} + x_i + x_{i+1}) / 3,   grad_x_i = (g_{i+1} + g_i + g_{i-1}) / 3
//   (the stencil is symmetric, so backward is the same stencil applied to g)
// gated_interpolation(x, u, g) = x + g ⊙ (u - x):
//   grad_x = G ⊙ (1 - g),   grad_u = G ⊙ g,   grad_g = G ⊙ (u - x)
// gated_residual(x, g, u) = x + g ⊙ u:
//   grad_x = G,   grad_g = G ⊙ u,   grad_u = G ⊙ g
// linear_concat(x, u, W, b) = [x, u] Wᵀ + b, W [out, Dx + Du], without building [x, u]:
//   = x W_xᵀ + u W_uᵀ + b with W_x = W[:, :Dx], W_u = W[:, Dx:] (strided views, no copies)
//   grad_x = G W_x,  grad_u = G W_u,  grad_W = [Gᵀx, Gᵀu],  grad_b = Σ_rows G
// The elementwise arithmetic lives in core (compute_gating.hpp over kernels/gating.hpp), which
// checks that the inputs have one shape (no broadcasting); this file is the graph side.
#include "sf/autograd/functional_fused.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"
#include "sf/core/matmul.hpp"

namespace sf {
namespace {

struct NeighborMeanBackward : Node {
  std::string name() const override { return "NeighborMeanBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override { return {compute::neighbor_mean(grad)}; }
};

struct GatedInterpolationBackward : SavingNode<GatedInterpolationBackward> {
  SavedTensor input, update, gate;
  std::string name() const override { return "GatedInterpolationBackward"; }
  std::vector<Tensor> backward(const Tensor& grad_output) override {
    const Tensor& x = input.get(name());
    const Tensor& u = update.get(name());
    const Tensor& g = gate.get(name());
    compute::GatedInterpolationGrads grads = compute::gated_interpolation_backward(x, u, g, grad_output);
    return {std::move(grads.grad_x), std::move(grads.grad_u), std::move(grads.grad_g)};
  }
  auto saved() { return std::tie(input, update, gate); }
};

struct GatedResidualBackward : SavingNode<GatedResidualBackward> {
  SavedTensor gate, update;
  std::string name() const override { return "GatedResidualBackward"; }
  std::vector<Tensor> backward(const Tensor& grad_output) override {
    const Tensor& g = gate.get(name());
    const Tensor& u = update.get(name());
    compute::GatedResidualGrads grads = compute::gated_residual_backward(g, u, grad_output);
    return {grad_output.contiguous(), std::move(grads.grad_g), std::move(grads.grad_u)};
  }
  auto saved() { return std::tie(gate, update); }
};

struct LinearConcatBackward : SavingNode<LinearConcatBackward> {
  SavedTensor first, second, weight;
  std::int64_t first_width = 0;
  std::string name() const override { return "LinearConcatBackward"; }
  std::vector<Tensor> backward(const Tensor& grad_output) override {
    const std::int64_t out_features = grad_output.size(-1);
    const Tensor grad = grad_output.reshape({-1, out_features});
    const Tensor& w = weight.get(name());
    const std::int64_t total_width = w.size(1);
    const Tensor weight_first = w.slice(1, 0, first_width), weight_second = w.slice(1, first_width, total_width);
    std::vector<Tensor> result(inputs.size());
    if (needs_input_grad(0)) result[0] = compute::matmul(grad, weight_first).reshape(inputs[0].shape);
    if (needs_input_grad(1)) result[1] = compute::matmul(grad, weight_second).reshape(inputs[1].shape);
    if (needs_input_grad(2)) {
      const Tensor& x = first.get(name());
      const Tensor& u = second.get(name());
      Tensor grad_weight = Tensor::empty(w.shape(), w.dtype());
      Tensor left = grad_weight.slice(1, 0, first_width), right = grad_weight.slice(1, first_width, total_width);
      // Each half is written through a strided view: G^T x into columns [0, Dx), G^T u into [Dx, D).
      left.copy_from(compute::matmul(grad, x.reshape({-1, x.size(-1)}), true, false));
      right.copy_from(compute::matmul(grad, u.reshape({-1, u.size(-1)}), true, false));
      result[2] = grad_weight;
    }
    if (inputs.size() > 3 && needs_input_grad(3)) result[3] = compute::sum(grad, {0});
    return result;
  }
  auto saved() { return std::tie(first, second, weight); }
};

}  // namespace

Variable neighbor_mean(const Variable& x) {
  Tensor output = compute::neighbor_mean(x.data());
  if (!needs_graph({&x})) return Variable(std::move(output));
  return attach_node(std::make_shared<NeighborMeanBackward>(), std::move(output), {&x});
}

Variable gated_interpolation(const Variable& x, const Variable& u, const Variable& g) {
  const Tensor xs = x.data().contiguous(), us = u.data().contiguous(), gs = g.data().contiguous();
  Tensor output = compute::gated_interpolation(xs, us, gs);
  if (!needs_graph({&x, &u, &g})) return Variable(std::move(output));
  auto node = std::make_shared<GatedInterpolationBackward>();
  node->input = SavedTensor(xs);
  node->update = SavedTensor(us);
  node->gate = SavedTensor(gs);
  return attach_node(std::move(node), std::move(output), {&x, &u, &g});
}

Variable gated_residual(const Variable& x, const Variable& g, const Variable& u) {
  const Tensor gs = g.data().contiguous(), us = u.data().contiguous();
  Tensor output = compute::gated_residual(x.data(), gs, us);
  if (!needs_graph({&x, &g, &u})) return Variable(std::move(output));
  auto node = std::make_shared<GatedResidualBackward>();
  node->gate = SavedTensor(gs);
  node->update = SavedTensor(us);
  return attach_node(std::move(node), std::move(output), {&x, &g, &u});
}

Variable linear_concat(const Variable& x, const Variable& u, const Variable& weight, const Variable& bias) {
  const Tensor& w = weight.data();
  if (x.dim() < 1 || u.dim() != x.dim() || w.dim() != 2 || x.size(-1) + u.size(-1) != w.size(1))
    fail("linear_concat: inputs {} and {} do not match weight {} (expected widths summing to {})", shape_string(x.shape()),
         shape_string(u.shape()), shape_string(w.shape()), w.dim() == 2 ? w.size(1) : -1);
  Shape leading_x = x.shape(), leading_u = u.shape();
  leading_x.pop_back();
  leading_u.pop_back();
  if (leading_x != leading_u)
    fail("linear_concat: inputs {} and {} differ before the last axis", shape_string(x.shape()), shape_string(u.shape()));
  const bool has_bias = bias.defined();
  const std::int64_t first_width = x.size(-1);
  const Tensor rows_x = x.data().reshape({-1, first_width}), rows_u = u.data().reshape({-1, u.size(-1)});
  Tensor output;
  if (has_bias) {
    output = compute::linear(rows_x, w.slice(1, 0, first_width), bias.data());
  } else {
    output = Tensor::empty({rows_x.size(0), w.size(0)}, x.dtype());
    compute::matmul_into(output, rows_x, w.slice(1, 0, first_width), false, true, 1.0, 0.0);
  }
  compute::matmul_into(output, rows_u, w.slice(1, first_width, w.size(1)), false, true, 1.0, 1.0);
  Shape output_shape = x.shape();
  output_shape.back() = w.size(0);
  output = output.view(output_shape);
  std::vector<Variable> inputs{x, u, weight};
  if (has_bias) inputs.push_back(bias);
  if (!needs_graph(inputs)) return Variable(std::move(output));
  auto node = std::make_shared<LinearConcatBackward>();
  node->first_width = first_width;
  if (weight.requires_grad()) {
    node->first = SavedTensor(x.data());
    node->second = SavedTensor(u.data());
  }
  node->weight = SavedTensor(w);
  return attach_node(std::move(node), std::move(output), inputs);
}

}  // namespace sf
