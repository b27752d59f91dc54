// The list of gradient checks run by the test suite (tests/gradcheck) and by
// `swarmformer gradcheck --op NAME | --all`: every differentiable op over a list of shapes
// that includes broadcasting, size-1 dimensions, non-contiguous views and empty tensors.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sf/autograd/gradcheck.hpp"

namespace sf {

struct GradcheckCase {
  std::string op;      // e.g. "matmul"
  std::string shapes;  // e.g. "[2, 3, 4] x [4, 5] (broadcast batch)"
  std::function<GradcheckResult()> run;
};

// All cases, grouped by op in a fixed order.
const std::vector<GradcheckCase>& gradcheck_cases();
// The distinct op names, in order.
std::vector<std::string> gradcheck_op_names();

}  // namespace sf
