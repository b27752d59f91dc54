// The recorded graph as Graphviz DOT text, for teaching: `dot -Tpng graph.dot -o graph.png`.
#pragma once

#include <string>

#include "sf/autograd/variable.hpp"

namespace sf {

// One box per node (its name and output shape), one ellipse per leaf (its name and shape),
// edges pointing from inputs to the node that consumes them.
std::string graph_to_dot(const Variable& output);

}  // namespace sf
