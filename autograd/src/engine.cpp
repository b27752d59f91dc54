// The backward engine.
//
// 1. Collect the nodes reachable from the output and count, for each, how many edges of the
//    graph lead into it (its dependencies) — an iterative depth-first walk, no recursion, so
//    deep graphs cannot overflow the stack.
// 2. Run the nodes whose gradient is complete (all dependents done), newest first. Each node's
//    input gradients are reduced to the input's shape (broadcasting happened in forward, so
//    the gradient is summed over the broadcast dimensions: sum_to), checked, then added to the
//    pending gradient of the producing node or accumulated into the leaf's .grad.
// 3. Unless retain_graph, each node drops its saved tensors and its edges right after it ran,
//    so activations are freed as early as possible.
#include <queue>
#include <unordered_map>

#include "sf/autograd/node.hpp"
#include "sf/autograd/variable.hpp"
#include "sf/core/compute.hpp"

namespace sf {
namespace {

struct LaterFirst {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_number < b->sequence_number; }
};

Tensor reduce_to_input(const Tensor& gradient, const InputEdge& edge, const Node& node, std::size_t index) {
  Tensor reduced = gradient;
  if (reduced.shape() != edge.shape) {
    if (!is_broadcastable_to(edge.shape, reduced.shape()))
      fail("backward: {} returned a gradient of shape {} for input {} of shape {}", node.name(),
           shape_string(gradient.shape()), index, shape_string(edge.shape));
    reduced = compute::sum_to(reduced, edge.shape);
  }
  if (reduced.dtype() != edge.dtype) reduced = reduced.to(edge.dtype);
  return reduced;
}

// slot += gradient. The sum goes in place only when nothing else can see slot's memory (its
// storage has no other owner: not a view of a node's grad_output, not the tensor a node returned
// for two inputs, not a .grad the caller kept; the gradient itself, being an owner, rules out
// aliasing). fma(g, 1, slot) is slot + g exactly, so in place gives the same bits as a new sum and
// saves a fresh buffer (and its first-touch page faults) per accumulation. A first gradient is
// taken as is, or copied for a leaf: a leaf's .grad owns its storage, since optimizers and
// clipping modify it in place and the tensor a node returned may be shared with another input.
void accumulate(Tensor& slot, const Tensor& gradient, bool copy_first) {
  if (!slot.defined()) slot = copy_first ? gradient.clone() : gradient;
  else if (slot.storage().use_count() == 1 && slot.is_contiguous() && slot.shape() == gradient.shape())
    compute::add_(slot, gradient);
  else slot = compute::add(slot, gradient);
}

void accumulate_pending(Tensor& slot, const Tensor& gradient) { accumulate(slot, gradient, false); }
void accumulate_leaf(Tensor& slot, const Tensor& gradient) { accumulate(slot, gradient, true); }

}  // namespace

void Variable::backward(const Tensor& upstream, bool retain_graph) const { backward(upstream, retain_graph, nullptr); }

void Variable::backward(const Tensor& upstream, bool retain_graph,
                        const std::function<void(const std::shared_ptr<VariableImpl>&)>& on_leaf_ready) const {
  if (!impl_) fail("backward: called on an undefined variable");
  if (!requires_grad())
    fail("backward: {} does not require a gradient and has no graph (was it computed under NoGradGuard, "
         "or from inputs without requires_grad?)",
         impl_->data.describe());
  Tensor seed = upstream;
  if (!seed.defined()) {
    if (numel() != 1)
      fail("backward: output {} is not a scalar; pass the upstream gradient explicitly", impl_->data.describe());
    seed = Tensor::ones(shape(), dtype());
  } else if (seed.shape() != shape()) {
    fail("backward: upstream gradient shape {} differs from output shape {}", shape_string(seed.shape()),
         shape_string(shape()));
  } else if (seed.dtype() != dtype()) {
    seed = seed.to(dtype());
  }

  if (is_leaf()) {
    accumulate_leaf(impl_->grad, seed);
    if (on_leaf_ready) on_leaf_ready(impl_);
    return;
  }

  Node* root = impl_->grad_fn.get();
  // 1. Dependencies: the number of graph edges that point into each node.
  std::unordered_map<Node*, int> dependencies;
  std::unordered_map<VariableImpl*, int> leaf_uses;  // edges into each leaf (for on_leaf_ready)
  std::unordered_map<Node*, std::shared_ptr<Node>> keep_alive;  // nodes stay alive while we run
  std::vector<Node*> stack{root};
  dependencies[root] = 0;
  keep_alive[root] = impl_->grad_fn;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    if (node->released)
      fail("backward: the graph through {} was already freed by an earlier backward; "
           "call backward(upstream, /*retain_graph=*/true) the first time to backward through it twice",
           node->name());
    for (const InputEdge& edge : node->inputs) {
      if (!edge.needs_grad) continue;
      if (!edge.producer) {
        if (auto leaf = edge.leaf.lock()) ++leaf_uses[leaf.get()];
        continue;
      }
      Node* producer = edge.producer.get();
      auto [entry, inserted] = dependencies.try_emplace(producer, 0);
      ++entry->second;
      if (inserted) {
        keep_alive[producer] = edge.producer;
        stack.push_back(producer);
      }
    }
  }

  // 2. Run the ready nodes, newest first.
  std::unordered_map<Node*, Tensor> pending;
  pending[root] = seed;
  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  ready.push(root);
  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    Tensor grad_output = std::move(pending[node]);
    pending.erase(node);
    std::vector<Tensor> gradients = node->backward(grad_output);
    grad_output = Tensor();
    if (gradients.size() != node->inputs.size())
      fail("backward: {} returned {} gradients for {} inputs", node->name(), gradients.size(), node->inputs.size());
    for (std::size_t index = 0; index < gradients.size(); ++index) {
      const InputEdge& edge = node->inputs[index];
      if (!edge.needs_grad) continue;
      Node* producer = edge.producer.get();
      if (gradients[index].defined()) {
        Tensor gradient = reduce_to_input(gradients[index], edge, *node, index);
        if (producer) {
          accumulate_pending(pending[producer], gradient);
        } else if (auto leaf = edge.leaf.lock()) {
          accumulate_leaf(leaf->grad, gradient);
        }
      }
      if (!producer && on_leaf_ready)
        if (auto leaf = edge.leaf.lock(); leaf && --leaf_uses[leaf.get()] == 0) on_leaf_ready(leaf);
      if (producer && --dependencies[producer] == 0) {
        // A producer whose every consumer passed no gradient still runs, with zeros, so that
        // the whole graph is consumed (and freed) consistently.
        if (!pending.count(producer)) pending[producer] = Tensor::zeros(producer->output_shape, producer->output_dtype);
        ready.push(producer);
      }
    }
    // 3. Free what this node saved and its edges.
    if (!retain_graph) {
      node->release_saved();
      node->released = true;
      for (InputEdge& edge : node->inputs) edge.producer.reset();
    }
  }
}

}  // namespace sf
