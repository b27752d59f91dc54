// Graph nodes: the backward half of every op.
//
// An op's forward computes its output with core kernels and, when any input needs a gradient,
// records a Node that saves only what backward needs. Node::backward maps the gradient of the
// loss with respect to the op's output to the gradients with respect to each input:
//
//     grad_input_i = (d output / d input_i)^T · grad_output        (a vector–Jacobian product)
//
// The engine (engine.cpp) walks the nodes in reverse topological order, sums the gradients
// that reach a node along different paths, reduces broadcast gradients to the input's shape
// (sum_to), and accumulates into the leaves.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "sf/autograd/variable.hpp"
#include "sf/core/tensor.hpp"

namespace sf {

// A tensor saved for backward, with the version of its storage at save time. Reading it after
// an in-place change to that storage throws instead of silently giving a wrong gradient.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(Tensor tensor);
  // Throws "<node>: a tensor saved for backward was modified in place ..." on a version change.
  const Tensor& get(const std::string& node_name) const;
  bool defined() const { return tensor_.defined(); }
  void reset() { tensor_ = Tensor(); }

 private:
  Tensor tensor_;
  std::uint64_t version_ = 0;
};

// Where the gradient for one input of a node goes.
struct InputEdge {
  std::shared_ptr<Node> producer;     // the node that produced the input (null for a leaf)
  std::weak_ptr<VariableImpl> leaf;   // the leaf variable, when the input is a leaf
  Shape shape;                        // the input's shape: gradients are reduced to it
  DType dtype = DType::Float32;
  bool needs_grad = false;
};

class Node {
 public:
  virtual ~Node() = default;
  // A readable name such as "MatmulBackward".
  virtual std::string name() const = 0;
  // Gradients for each input (an undefined Tensor for inputs that need none). Nodes may
  // return gradients with the shape of the broadcast output; the engine reduces them.
  virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
  // Drops the saved tensors (called once backward has passed, unless the graph is retained).
  virtual void release_saved() {}

  bool needs_input_grad(std::size_t index) const { return index < inputs.size() && inputs[index].needs_grad; }

  std::vector<InputEdge> inputs;
  Shape output_shape;
  DType output_dtype = DType::Float32;
  std::uint64_t sequence_number = 0;  // creation order; later nodes run first
  bool released = false;              // saved tensors freed by a backward
};

// A node whose saved state is declared once: `auto saved() { return std::tie(a, b); }` lists the
// members kept for backward (SavedTensor, Tensor, masks, index vectors), and release_saved()
// resets exactly those, so a member added to the list is also freed after backward.
//
//   struct MatmulBackward : SavingNode<MatmulBackward> {
//     SavedTensor a, b;
//     auto saved() { return std::tie(a, b); }
//     ...
//   };
template <class Derived>
struct SavingNode : Node {
  void release_saved() final {
    std::apply([](auto&... member) { (release(member), ...); }, static_cast<Derived*>(this)->saved());
  }

 private:
  template <class Member>
  static void release(Member& member) {
    if constexpr (requires { member.reset(); }) member.reset();
    else member = Member{};
  }
};

// True when recording is on and at least one input requires a gradient.
bool needs_graph(std::initializer_list<const Variable*> inputs);
bool needs_graph(const std::vector<Variable>& inputs);

// Connects `node` to its inputs and wraps `output` in a Variable that owns the node.
// Call only when needs_graph(...) is true.
Variable attach_node(std::shared_ptr<Node> node, Tensor output, std::initializer_list<const Variable*> inputs);
Variable attach_node(std::shared_ptr<Node> node, Tensor output, const std::vector<Variable>& inputs);

}  // namespace sf
