#include "sf/autograd/gradcheck.hpp"

#include <algorithm>
#include <cmath>

#include "sf/autograd/grad_mode.hpp"
#include "sf/core/random.hpp"

namespace sf {
namespace {

std::string index_string(const Shape& shape, std::int64_t flat) {
  Shape index(shape.size());
  for (std::size_t axis = shape.size(); axis-- > 0;) {
    index[axis] = shape[axis] == 0 ? 0 : flat % shape[axis];
    flat = shape[axis] == 0 ? 0 : flat / shape[axis];
  }
  return shape_string(index);
}

std::vector<double> evaluate(const std::function<Variable()>& fn) {
  NoGradGuard no_grad;
  return fn().data().to_vector();
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double total = 0.0;
  for (std::size_t index = 0; index < a.size(); ++index) total += a[index] * b[index];
  return total;
}

}  // namespace

std::string GradcheckResult::summary() const {
  return fmt::format("{}: max abs error {:.3g}, max rel error {:.3g}, {} checked, {} skipped near kinks{}{}",
                     passed ? "passed" : "FAILED", max_abs_error, max_rel_error, checked, skipped,
                     worst.empty() ? "" : "; worst at ", worst);
}

GradcheckResult gradcheck_parameters(const std::function<Variable()>& fn, const std::vector<Variable>& parameters,
                                     const GradcheckOptions& options) {
  for (std::size_t index = 0; index < parameters.size(); ++index) {
    if (parameters[index].dtype() != DType::Float64)
      fail("gradcheck: input {} is {}; gradcheck needs float64 for tight tolerances", index,
           parameters[index].data().describe());
    if (!parameters[index].data().is_contiguous())
      fail("gradcheck: input {} {} must be contiguous (make views inside fn)", index,
           shape_string(parameters[index].shape()));
  }
  GradcheckResult result;
  double worst_excess = -1.0;
  auto compare = [&](double analytic, double numeric, const std::string& where) {
    const double absolute = std::abs(analytic - numeric);
    // Relative to the larger magnitude, floored so that two near-zero values do not read as 100%.
    const double relative = absolute / std::max({std::abs(numeric), std::abs(analytic), 1e-8});
    ++result.checked;
    result.max_abs_error = std::max(result.max_abs_error, absolute);
    result.max_rel_error = std::max(result.max_rel_error, relative);
    const double excess = absolute - (options.atol + options.rtol * std::abs(numeric));
    if (excess > 0) result.passed = false;
    if (excess > worst_excess) {
      worst_excess = excess;
      result.worst = fmt::format("{}: analytic {:.10g}, numeric {:.10g}", where, analytic, numeric);
    }
  };

  // Analytic: backward of a random upstream (vector-Jacobian product), then one row per output.
  for (const Variable& parameter : parameters) parameter.impl()->grad = Tensor();
  const Variable output = fn();
  if (output.dtype() != DType::Float64) fail("gradcheck: fn returned {}, expected float64", output.data().describe());
  const std::int64_t outputs = output.numel();
  Generator generator(options.seed);
  const Tensor upstream = normal(output.shape(), generator, 0.0, 1.0, DType::Float64);
  const std::vector<double> upstream_values = upstream.to_vector();
  const bool full_jacobian = outputs <= options.max_jacobian_rows;
  auto gradients_for = [&](const Tensor& seed) {
    for (const Variable& parameter : parameters) parameter.impl()->grad = Tensor();
    if (output.requires_grad()) output.backward(seed, /*retain_graph=*/true);
    std::vector<std::vector<double>> gradients;
    for (const Variable& parameter : parameters) {
      const Tensor& grad = parameter.grad();
      gradients.push_back(grad.defined() ? grad.to_vector() : std::vector<double>(static_cast<std::size_t>(parameter.numel()), 0.0));
      if (grad.defined() && grad.shape() != parameter.shape())
        fail("gradcheck: gradient of input shape {} has shape {}", shape_string(parameter.shape()), shape_string(grad.shape()));
    }
    return gradients;
  };
  const auto vector_jacobian = gradients_for(upstream);
  std::vector<std::vector<std::vector<double>>> jacobian_rows;  // [output][input][element]
  if (full_jacobian)
    for (std::int64_t row = 0; row < outputs; ++row) {
      Tensor one_hot = Tensor::zeros(output.shape(), DType::Float64);
      one_hot.data<double>()[row] = 1.0;
      jacobian_rows.push_back(gradients_for(one_hot));
    }
  for (const Variable& parameter : parameters) parameter.impl()->grad = Tensor();

  // Numeric: central differences, element by element.
  const std::vector<double> center = evaluate(fn);
  for (std::size_t input = 0; input < parameters.size(); ++input) {
    Tensor data = parameters[input].data();
    double* values = data.data<double>();
    for (std::int64_t element = 0; element < data.numel(); ++element) {
      const double original = values[element];
      values[element] = original + options.eps;
      data.bump_version();
      const std::vector<double> plus = evaluate(fn);
      values[element] = original - options.eps;
      data.bump_version();
      const std::vector<double> minus = evaluate(fn);
      values[element] = original;
      data.bump_version();
      // Kink detection on the projected function uᵀf.
      const double forward_slope = (dot(upstream_values, plus) - dot(upstream_values, center)) / options.eps;
      const double backward_slope = (dot(upstream_values, center) - dot(upstream_values, minus)) / options.eps;
      if (std::abs(forward_slope - backward_slope) >
          options.kink_tolerance * (1.0 + std::abs(forward_slope) + std::abs(backward_slope))) {
        ++result.skipped;
        continue;
      }
      const std::string where = fmt::format("input {} index {}", input, index_string(data.shape(), element));
      std::vector<double> column(plus.size());
      for (std::size_t k = 0; k < plus.size(); ++k) column[k] = (plus[k] - minus[k]) / (2.0 * options.eps);
      compare(vector_jacobian[input][static_cast<std::size_t>(element)], dot(upstream_values, column),
              where + " (random upstream)");
      if (full_jacobian)
        for (std::int64_t row = 0; row < outputs; ++row)
          compare(jacobian_rows[static_cast<std::size_t>(row)][input][static_cast<std::size_t>(element)],
                  column[static_cast<std::size_t>(row)],
                  fmt::format("{} output {}", where, index_string(output.shape(), row)));
    }
  }
  return result;
}

GradcheckResult gradcheck(const std::function<Variable(const std::vector<Variable>&)>& fn,
                          const std::vector<Tensor>& values, const GradcheckOptions& options) {
  std::vector<Variable> inputs;
  for (std::size_t index = 0; index < values.size(); ++index)
    inputs.emplace_back(values[index].contiguous().clone(), true, fmt::format("input{}", index));
  return gradcheck_parameters([&] { return fn(inputs); }, inputs, options);
}

}  // namespace sf
