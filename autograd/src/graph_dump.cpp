#include "sf/autograd/graph_dump.hpp"

#include <fmt/format.h>

#include <unordered_map>

#include "sf/autograd/node.hpp"

namespace sf {

std::string graph_to_dot(const Variable& output) {
  std::string dot = "digraph autograd {\n  rankdir=BT;\n  node [fontname=\"monospace\"];\n";
  if (!output.defined() || output.is_leaf()) {
    dot += fmt::format("  leaf0 [shape=ellipse, label=\"{} {}\"];\n", output.defined() ? output.name() : "undefined",
                       output.defined() ? shape_string(output.shape()) : "");
    return dot + "}\n";
  }
  std::unordered_map<const Node*, int> node_ids;
  std::unordered_map<const VariableImpl*, int> leaf_ids;
  std::vector<const Node*> stack{output.grad_fn().get()};
  node_ids[stack.back()] = 0;
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    const int id = node_ids[node];
    dot += fmt::format("  node{} [shape=box, label=\"{}\\n{}\"];\n", id, node->name(), shape_string(node->output_shape));
    for (const InputEdge& edge : node->inputs) {
      if (!edge.needs_grad) continue;
      if (edge.producer) {
        auto [entry, inserted] = node_ids.try_emplace(edge.producer.get(), static_cast<int>(node_ids.size()));
        if (inserted) stack.push_back(edge.producer.get());
        dot += fmt::format("  node{} -> node{};\n", entry->second, id);
      } else if (auto leaf = edge.leaf.lock()) {
        auto [entry, inserted] = leaf_ids.try_emplace(leaf.get(), static_cast<int>(leaf_ids.size()));
        if (inserted)
          dot += fmt::format("  leaf{} [shape=ellipse, label=\"{}\\n{}\"];\n", entry->second,
                             leaf->name.empty() ? "leaf" : leaf->name, shape_string(leaf->data.shape()));
        dot += fmt::format("  leaf{} -> node{};\n", entry->second, id);
      }
    }
  }
  return dot + "}\n";
}

}  // namespace sf
