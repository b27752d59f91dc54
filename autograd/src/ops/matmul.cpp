// Matrix products.
//
// matmul: C = op(A) · op(B), op(X) = X or Xᵀ, batch dimensions broadcast.
//   grad of op(A) = G · op(B)ᵀ,   grad of op(B) = op(A)ᵀ · G
//   so, with the transposes folded into the GEMM's packing (no transpose is materialized):
//     A stored as is  (op = N): grad_A = G · op(B)ᵀ           = matmul(G, B, false, !tb)
//     A stored transposed (T):  grad_A = (G · op(B)ᵀ)ᵀ = op(B) · Gᵀ = matmul(B, G, tb, true)
//     B stored as is  (op = N): grad_B = op(A)ᵀ · G           = matmul(A, G, !ta, false)
//     B stored transposed (T):  grad_B = (op(A)ᵀ · G)ᵀ = Gᵀ · op(A) = matmul(G, A, true, ta)
//   Broadcast batch dimensions are summed away by the engine.
//
// linear: y = x · Wᵀ + b, x [..., in], W [out, in], b [out]  (PyTorch's layout)
//   grad_x = G · W,   grad_W = Gᵀ · x  (rows of x and G flattened),   grad_b = Σ_rows G
#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"
#include "sf/core/matmul.hpp"

namespace sf {
namespace {

struct MatmulBackward : SavingNode<MatmulBackward> {
  SavedTensor a, b;
  bool transpose_a = false, transpose_b = false;
  std::string name() const override { return "MatmulBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    Tensor grad_a, grad_b;
    if (needs_input_grad(0)) {
      const Tensor& other = b.get(name());
      grad_a = transpose_a ? compute::matmul(other, grad, transpose_b, true)
                           : compute::matmul(grad, other, false, !transpose_b);
    }
    if (needs_input_grad(1)) {
      const Tensor& other = a.get(name());
      grad_b = transpose_b ? compute::matmul(grad, other, true, transpose_a)
                           : compute::matmul(other, grad, !transpose_a, false);
    }
    return {grad_a, grad_b};
  }
  auto saved() { return std::tie(a, b); }
};

struct LinearBackward : SavingNode<LinearBackward> {
  SavedTensor input, weight;
  std::string name() const override { return "LinearBackward"; }
  std::vector<Tensor> backward(const Tensor& grad_output) override {
    const std::int64_t out_features = grad_output.size(-1);
    const Tensor grad = grad_output.reshape({-1, out_features});
    Tensor grad_input, grad_weight, grad_bias;
    if (needs_input_grad(0)) grad_input = compute::matmul(grad, weight.get(name())).reshape(inputs[0].shape);
    if (needs_input_grad(1)) {
      const Tensor& x = input.get(name());
      grad_weight = compute::matmul(grad, x.reshape({-1, x.size(-1)}), true, false);
    }
    if (inputs.size() > 2 && needs_input_grad(2)) grad_bias = compute::sum(grad, {0}, false);
    return inputs.size() > 2 ? std::vector<Tensor>{grad_input, grad_weight, grad_bias}
                             : std::vector<Tensor>{grad_input, grad_weight};
  }
  auto saved() { return std::tie(input, weight); }
};

}  // namespace

Variable matmul(const Variable& a, const Variable& b, bool transpose_a, bool transpose_b) {
  Tensor output = compute::matmul(a.data(), b.data(), transpose_a, transpose_b);
  if (!needs_graph({&a, &b})) return Variable(std::move(output));
  auto node = std::make_shared<MatmulBackward>();
  node->transpose_a = transpose_a;
  node->transpose_b = transpose_b;
  if (b.requires_grad()) node->a = SavedTensor(a.data());
  if (a.requires_grad()) node->b = SavedTensor(b.data());
  return attach_node(std::move(node), std::move(output), {&a, &b});
}

Variable linear(const Variable& x, const Variable& weight, const Variable& bias) {
  const Tensor& w = weight.data();
  if (w.dim() != 2 || x.dim() < 1 || x.size(-1) != w.size(1))
    fail("linear: input {} does not match weight {} (expected [..., {}])", shape_string(x.shape()),
         shape_string(w.shape()), w.dim() == 2 ? w.size(1) : -1);
  const bool has_bias = bias.defined();
  if (has_bias && (bias.dim() != 1 || bias.size(0) != w.size(0)))
    fail("linear: bias {} does not match weight {}", shape_string(bias.shape()), shape_string(w.shape()));
  Shape output_shape = x.shape();
  output_shape.back() = w.size(0);
  const Tensor rows = x.data().reshape({-1, x.size(-1)});
  Tensor output = compute::linear(rows, w, has_bias ? bias.data() : Tensor()).view(output_shape);
  if (has_bias ? !needs_graph({&x, &weight, &bias}) : !needs_graph({&x, &weight})) return Variable(std::move(output));
  auto node = std::make_shared<LinearBackward>();
  if (weight.requires_grad()) node->input = SavedTensor(x.data());
  if (x.requires_grad()) node->weight = SavedTensor(w);
  if (has_bias) return attach_node(std::move(node), std::move(output), {&x, &weight, &bias});
  return attach_node(std::move(node), std::move(output), {&x, &weight});
}

}  // namespace sf
