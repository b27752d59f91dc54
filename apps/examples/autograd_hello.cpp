// The example of docs/autograd.md as a program: y = sum(x * x + x), its graph, and dy/dx = 2x + 1.
//   autograd_hello            prints y, the graph as Graphviz DOT, and x.grad
// Exits 1 if the gradient is not {3, -3, 7}.
#include <iostream>
#include <vector>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/graph_dump.hpp"
#include "sf/autograd/variable.hpp"

int main() {
  sf::Variable x(sf::Tensor::from_vector(std::vector<double>{1, -2, 3}, {3}), /*requires_grad=*/true, "x");
  sf::Variable y = sf::sum(x * x + x);
  std::cout << "y = " << y.item() << "\n\ngraph (dot -Tpng):\n" << sf::graph_to_dot(y) << "\n";
  y.backward();
  const std::vector<double> gradient = x.grad().to_vector();
  std::cout << "dy/dx = {" << gradient[0] << ", " << gradient[1] << ", " << gradient[2] << "}  (2x + 1)\n";
  return gradient == std::vector<double>{3, -3, 7} ? 0 : 1;
}
