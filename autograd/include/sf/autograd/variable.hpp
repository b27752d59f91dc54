// Variable: a Tensor that remembers how it was computed.
//
// A Variable holds its value (data), its gradient (grad, filled by backward), and — when it
// was produced by an op while gradients were being recorded — the graph Node that knows how
// to send gradients back to the op's inputs. Leaves are Variables made by the user (inputs,
// parameters); only leaves with requires_grad accumulate .grad.
//
// Copies of a Variable are shallow: they share one VariableImpl (value, grad and node).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sf/core/tensor.hpp"

namespace sf {

class Node;

struct VariableImpl {
  Tensor data;
  Tensor grad;                     // undefined until backward reaches this leaf
  std::shared_ptr<Node> grad_fn;   // the op that produced this variable; null for leaves
  bool requires_grad = false;
  std::string name;                // shown in graph dumps and error messages
};

class Variable {
 public:
  Variable() = default;
  explicit Variable(Tensor data, bool requires_grad = false, std::string name = {});

  bool defined() const { return impl_ != nullptr; }
  const Tensor& data() const { return impl_->data; }
  Tensor& data() { return impl_->data; }  // optimizers update parameters through this
  const Tensor& grad() const { return impl_->grad; }
  void set_grad(Tensor gradient) { impl_->grad = std::move(gradient); }
  // Forgets the gradient (the next backward stores a fresh one).
  void zero_grad() { impl_->grad = Tensor(); }

  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  Variable& set_requires_grad(bool requires_grad);
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  const std::string& name() const { return impl_->name; }
  Variable& set_name(std::string name) {
    impl_->name = std::move(name);
    return *this;
  }

  // The same value, cut off from the graph (shares storage).
  Variable detach() const { return Variable(impl_->data); }

  // Reverse-mode differentiation from this variable. Without `upstream` the variable must hold
  // one element (a loss) and the upstream gradient is 1. Unless retain_graph, the graph's saved
  // tensors are freed as backward passes through it.
  void backward(const Tensor& upstream = Tensor(), bool retain_graph = false) const;
  // The same, calling on_leaf_ready(leaf) as soon as a leaf's gradient is final for this
  // backward (every path to it has been walked). Data-parallel training starts the allreduce of
  // a gradient bucket from this hook while backward goes on with the rest of the graph.
  void backward(const Tensor& upstream, bool retain_graph,
                const std::function<void(const std::shared_ptr<VariableImpl>&)>& on_leaf_ready) const;

  // Shorthands for the value's properties.
  const Shape& shape() const { return impl_->data.shape(); }
  DType dtype() const { return impl_->data.dtype(); }
  std::int64_t dim() const { return impl_->data.dim(); }
  std::int64_t size(std::int64_t axis) const { return impl_->data.size(axis); }
  std::int64_t numel() const { return impl_->data.numel(); }
  double item() const { return impl_->data.item(); }

  const std::shared_ptr<VariableImpl>& impl() const { return impl_; }
  bool same_as(const Variable& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<VariableImpl> impl_;
};

}  // namespace sf
