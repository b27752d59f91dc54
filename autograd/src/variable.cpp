#include "sf/autograd/variable.hpp"

#include <atomic>

#include "sf/autograd/grad_mode.hpp"
#include "sf/autograd/node.hpp"

namespace sf {
namespace {
thread_local bool grad_mode = true;
std::atomic<std::uint64_t> next_sequence_number{0};

void connect(Node& node, const Variable& input) {
  InputEdge edge;
  edge.shape = input.shape();
  edge.dtype = input.dtype();
  edge.needs_grad = input.requires_grad();
  if (edge.needs_grad) {
    if (input.is_leaf()) edge.leaf = input.impl();
    else edge.producer = input.grad_fn();
  }
  node.inputs.push_back(std::move(edge));
}

Variable finish(std::shared_ptr<Node> node, Tensor output) {
  node->output_shape = output.shape();
  node->output_dtype = output.dtype();
  node->sequence_number = next_sequence_number.fetch_add(1, std::memory_order_relaxed);
  Variable result(std::move(output), true);
  result.impl()->grad_fn = std::move(node);
  return result;
}
}  // namespace

bool grad_enabled() { return grad_mode; }
void set_grad_enabled(bool enabled) { grad_mode = enabled; }

Variable::Variable(Tensor data, bool requires_grad, std::string name) : impl_(std::make_shared<VariableImpl>()) {
  impl_->data = std::move(data);
  impl_->requires_grad = requires_grad;
  impl_->name = std::move(name);
}

Variable& Variable::set_requires_grad(bool requires_grad) {
  if (!is_leaf() && !requires_grad)
    fail("set_requires_grad: {} is the output of {}; use detach() to cut it from the graph",
         impl_->data.describe(), impl_->grad_fn->name());
  impl_->requires_grad = requires_grad;
  return *this;
}

SavedTensor::SavedTensor(Tensor tensor) : tensor_(std::move(tensor)) {
  if (tensor_.defined()) version_ = tensor_.storage()->version();
}

const Tensor& SavedTensor::get(const std::string& node_name) const {
  if (!tensor_.defined()) fail("{}: a tensor saved for backward was already freed", node_name);
  if (tensor_.storage()->version() != version_)
    fail("{}: a tensor {} saved for backward was modified in place after it was saved (version {} -> {}); "
         "clone it before modifying, or modify it after backward",
         node_name, shape_string(tensor_.shape()), version_, tensor_.storage()->version());
  return tensor_;
}

bool needs_graph(std::initializer_list<const Variable*> inputs) {
  if (!grad_mode) return false;
  for (const Variable* input : inputs)
    if (input->requires_grad()) return true;
  return false;
}

bool needs_graph(const std::vector<Variable>& inputs) {
  if (!grad_mode) return false;
  for (const Variable& input : inputs)
    if (input.requires_grad()) return true;
  return false;
}

Variable attach_node(std::shared_ptr<Node> node, Tensor output, std::initializer_list<const Variable*> inputs) {
  for (const Variable* input : inputs) connect(*node, *input);
  return finish(std::move(node), std::move(output));
}

Variable attach_node(std::shared_ptr<Node> node, Tensor output, const std::vector<Variable>& inputs) {
  for (const Variable& input : inputs) connect(*node, input);
  return finish(std::move(node), std::move(output));
}

}  // namespace sf
