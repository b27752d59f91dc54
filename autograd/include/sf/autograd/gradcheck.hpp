// gradcheck: compares the gradients backward computes with central finite differences, in
// float64, where the two can agree to ~1e-7 relative:
//
//   numeric  J[:, j] ≈ (f(x + ε e_j) - f(x - ε e_j)) / 2ε      (error O(ε²) + rounding O(1e-16/ε))
//   analytic uᵀJ from backward(u) for a random upstream u, and, when f has few outputs, every
//            row of J from backward(e_k) — the full Jacobian.
//
// Points near a kink (relu at 0, max ties, clamp edges) have one-sided differences that
// disagree; such elements are skipped and counted rather than failed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sf/autograd/variable.hpp"

namespace sf {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-7;
  double rtol = 1e-6;
  std::uint64_t seed = 1234;            // for the random upstream gradient
  std::int64_t max_jacobian_rows = 32;  // full Jacobian when the output has at most this many elements
  double kink_tolerance = 1e-3;         // relative disagreement of one-sided differences that marks a kink
};

struct GradcheckResult {
  bool passed = true;
  double max_abs_error = 0.0;
  double max_rel_error = 0.0;
  std::int64_t checked = 0;  // (input element, comparison) pairs compared
  std::int64_t skipped = 0;  // elements skipped near a kink
  std::string worst;         // where the largest error was: input, index, analytic, numeric
  std::string summary() const;
};

// Differentiates fn() with respect to `parameters` (float64 leaves that fn reads). fn must be
// deterministic: it is called many times with the parameters perturbed in place.
GradcheckResult gradcheck_parameters(const std::function<Variable()>& fn, const std::vector<Variable>& parameters,
                                     const GradcheckOptions& options = {});

// Functional form: fn(inputs) with inputs made from `values` (float64 tensors).
GradcheckResult gradcheck(const std::function<Variable(const std::vector<Variable>&)>& fn,
                          const std::vector<Tensor>& values, const GradcheckOptions& options = {});

}  // namespace sf
