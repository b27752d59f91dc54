// Embedding lookup: y[..., :] = W[id, :] for each id.
//   grad_W[v, :] = Σ over positions with id == v of g[position, :]   (a scatter-add)
//   Rows of padding_index receive no gradient (PyTorch's padding_idx), so they stay as set.
#include "sf/autograd/functional.hpp"
#include "sf/autograd/node.hpp"
#include "sf/core/compute.hpp"

namespace sf {
namespace {

struct EmbeddingBackward : SavingNode<EmbeddingBackward> {
  std::vector<std::int64_t> ids;
  std::int64_t padding_index = -1;
  std::string name() const override { return "EmbeddingBackward"; }
  std::vector<Tensor> backward(const Tensor& grad) override {
    return {compute::embedding_backward(grad, ids, inputs[0].shape[0], padding_index)};
  }
  auto saved() { return std::tie(ids); }
};

}  // namespace

Variable embedding(const Variable& weight, const std::vector<std::int64_t>& ids, const Shape& ids_shape,
                   std::int64_t padding_index) {
  Tensor output = compute::embedding(weight.data(), ids, ids_shape);
  if (!needs_graph({&weight})) return Variable(std::move(output));
  auto node = std::make_shared<EmbeddingBackward>();
  node->ids = ids;
  node->padding_index = padding_index;
  return attach_node(std::move(node), std::move(output), {&weight});
}

}  // namespace sf
