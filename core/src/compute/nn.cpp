// Tensor-level softmax, layer norm, embedding and AdamW: checks, then the row kernels.
#include <limits>
#include <string>

#include "broadcast.hpp"
#include "sf/core/compute_nn.hpp"
#include "sf/core/kernels/indexing.hpp"
#include "sf/core/kernels/layer_norm.hpp"
#include "sf/core/kernels/softmax.hpp"

namespace sf::compute {
namespace {

using detail::check_defined;

// The last axis of x as rows of length D: returns D (x must have at least one axis).
std::int64_t row_length(const Tensor& x, const char* op) {
  if (x.dim() == 0) fail("{}: needs at least one axis, got a 0-d tensor {}", op, shape_string(x.shape()));
  return x.shape().back();
}

// y = row_kernel(x) over the rows of the last axis.
template <class RowKernel>
Tensor rowwise(const Tensor& x, const char* op, RowKernel&& row_kernel) {
  check_defined(x, op, "input");
  const std::int64_t length = row_length(x, op);
  const Tensor input = x.contiguous();
  Tensor output = Tensor::empty(x.shape(), x.dtype());
  if (output.numel() == 0) return output;
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    row_kernel(input.data<T>(), output.data<T>(), x.numel() / length, length);
  });
  return output;
}

// grad_x = row_kernel(y, grad_y) over the rows of the last axis.
template <class RowKernel>
Tensor rowwise_backward(const Tensor& y, const Tensor& grad_y, const char* op, RowKernel&& row_kernel) {
  check_defined(y, op, "y");
  check_defined(grad_y, op, "grad_y");
  check_same_dtype(y, grad_y, op);
  check_same_shape(y, grad_y, op);
  const std::int64_t length = row_length(y, op);
  const Tensor output_values = y.contiguous(), upstream = grad_y.contiguous();
  Tensor grad_x = Tensor::empty(y.shape(), y.dtype());
  if (grad_x.numel() == 0) return grad_x;
  dispatch_dtype(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    row_kernel(output_values.data<T>(), upstream.data<T>(), grad_x.data<T>(), y.numel() / length, length);
  });
  return grad_x;
}

// Throws unless `parameter` is undefined or a [D] vector of x's dtype.
void check_feature_vector(const Tensor& parameter, const Tensor& x, const char* op, const char* name) {
  if (!parameter.defined()) return;
  const std::int64_t D = x.shape().back();
  if (parameter.shape() != Shape{D})
    fail("{}: {} {} does not match the last axis of input {} (expected [{}])", op, name,
         shape_string(parameter.shape()), shape_string(x.shape()), D);
  check_same_dtype(x, parameter, op);
}

// Throws naming the first id outside [0, vocabulary_size).
void check_ids(const std::vector<std::int64_t>& ids, std::int64_t vocabulary_size, const char* op,
               const std::string& context) {
  for (std::size_t position = 0; position < ids.size(); ++position)
    if (ids[position] < 0 || ids[position] >= vocabulary_size)
      fail("{}: id {} at position {} is out of range for a vocabulary of {} rows ({})", op, ids[position], position,
           vocabulary_size, context);
}

}  // namespace

Tensor softmax(const Tensor& x) {
  return rowwise(x, "softmax", [](const auto* input, auto* output, std::int64_t rows, std::int64_t length) {
    kernels::softmax(input, output, rows, length);
  });
}

Tensor log_softmax(const Tensor& x) {
  return rowwise(x, "log_softmax", [](const auto* input, auto* output, std::int64_t rows, std::int64_t length) {
    kernels::log_softmax(input, output, rows, length);
  });
}

Tensor softmax_backward(const Tensor& y, const Tensor& grad_y) {
  return rowwise_backward(y, grad_y, "softmax_backward",
                          [](const auto* output, const auto* upstream, auto* grad_x, std::int64_t rows,
                             std::int64_t length) { kernels::softmax_backward(output, upstream, grad_x, rows, length); });
}

Tensor log_softmax_backward(const Tensor& y, const Tensor& grad_y) {
  return rowwise_backward(
      y, grad_y, "log_softmax_backward",
      [](const auto* output, const auto* upstream, auto* grad_x, std::int64_t rows, std::int64_t length) {
        kernels::log_softmax_backward(output, upstream, grad_x, rows, length);
      });
}

Tensor cross_entropy_backward(const Tensor& y, const std::vector<std::int64_t>& targets,
                              const std::vector<double>& scales, double label_smoothing) {
  check_defined(y, "cross_entropy_backward", "log-probabilities");
  if (y.dim() != 2) fail("cross_entropy_backward: log-probabilities must be [N, classes], got {}", shape_string(y.shape()));
  const std::int64_t rows = y.size(0), classes = y.size(1);
  if (static_cast<std::int64_t>(targets.size()) != rows || static_cast<std::int64_t>(scales.size()) != rows)
    fail("cross_entropy_backward: {} targets and {} scales for log-probabilities {}", targets.size(), scales.size(),
         shape_string(y.shape()));
  for (std::int64_t row = 0; row < rows; ++row)
    if (scales[static_cast<std::size_t>(row)] != 0.0 &&
        (targets[static_cast<std::size_t>(row)] < 0 || targets[static_cast<std::size_t>(row)] >= classes))
      fail("cross_entropy_backward: target {} at row {} out of range for log-probabilities {}",
           targets[static_cast<std::size_t>(row)], row, shape_string(y.shape()));
  const Tensor input = y.contiguous();
  Tensor grad = Tensor::empty(y.shape(), y.dtype());
  if (grad.numel() == 0) return grad;
  dispatch_dtype(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::cross_entropy_backward(input.data<T>(), targets.data(), scales.data(), label_smoothing, grad.data<T>(),
                                    rows, classes);
  });
  return grad;
}

LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  check_defined(x, "layer_norm", "input");
  const std::int64_t D = row_length(x, "layer_norm");
  check_feature_vector(weight, x, "layer_norm", "weight");
  check_feature_vector(bias, x, "layer_norm", "bias");
  if (!(eps >= 0.0)) fail("layer_norm: eps must be non-negative, got {} (input {})", eps, shape_string(x.shape()));
  const Shape row_shape(x.shape().begin(), x.shape().end() - 1);
  LayerNormResult result{Tensor::empty(x.shape(), x.dtype()), Tensor::empty(row_shape, x.dtype()),
                         Tensor::empty(row_shape, x.dtype())};
  if (D == 0) {  // no features: nothing to normalize, the statistics are undefined
    result.mean.fill_(std::numeric_limits<double>::quiet_NaN());
    result.inverse_std.fill_(std::numeric_limits<double>::quiet_NaN());
    return result;
  }
  const Tensor input = x.contiguous();
  const Tensor weight_values = weight.defined() ? weight.contiguous() : Tensor();
  const Tensor bias_values = bias.defined() ? bias.contiguous() : Tensor();
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::layer_norm(input.data<T>(), weight.defined() ? weight_values.data<T>() : nullptr,
                        bias.defined() ? bias_values.data<T>() : nullptr, x.numel() / D, D, static_cast<T>(eps),
                        result.output.data<T>(), result.mean.data<T>(), result.inverse_std.data<T>());
  });
  return result;
}

LayerNormGrads layer_norm_backward(const Tensor& grad_output, const Tensor& x, const Tensor& mean,
                                   const Tensor& inverse_std, const Tensor& weight) {
  const char* op = "layer_norm_backward";
  check_defined(grad_output, op, "grad_output");
  check_defined(x, op, "input");
  check_defined(mean, op, "mean");
  check_defined(inverse_std, op, "inverse_std");
  const std::int64_t D = row_length(x, op);
  check_same_dtype(grad_output, x, op);
  check_same_shape(grad_output, x, op);
  check_feature_vector(weight, x, op, "weight");
  const std::int64_t rows = D == 0 ? shape_numel(Shape(x.shape().begin(), x.shape().end() - 1)) : x.numel() / D;
  for (const Tensor* statistic : {&mean, &inverse_std}) {
    check_same_dtype(x, *statistic, op);
    if (statistic->numel() != rows)
      fail("{}: mean {} and inverse_std {} must hold one value per row of input {} ({} rows)", op,
           shape_string(mean.shape()), shape_string(inverse_std.shape()), shape_string(x.shape()), rows);
  }
  LayerNormGrads grads{Tensor::empty(x.shape(), x.dtype()), Tensor::zeros({D}, x.dtype()),
                       Tensor::zeros({D}, x.dtype())};
  if (x.numel() == 0) return grads;
  const Tensor upstream = grad_output.contiguous(), input = x.contiguous();
  const Tensor mean_values = mean.contiguous(), inverse_std_values = inverse_std.contiguous();
  const Tensor weight_values = weight.defined() ? weight.contiguous() : Tensor();
  Tensor workspace = Tensor::empty({kernels::layer_norm_backward_workspace_size(rows, D)}, x.dtype());
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::layer_norm_backward(upstream.data<T>(), input.data<T>(), mean_values.data<T>(),
                                 inverse_std_values.data<T>(), weight.defined() ? weight_values.data<T>() : nullptr,
                                 rows, D, grads.grad_input.data<T>(), grads.grad_weight.data<T>(),
                                 grads.grad_bias.data<T>(), workspace.data<T>());
  });
  return grads;
}

Tensor embedding(const Tensor& weight, const std::vector<std::int64_t>& ids, const Shape& ids_shape) {
  check_defined(weight, "embedding", "weight");
  if (weight.dim() != 2) fail("embedding: weight must be 2-d [V, D], got {}", shape_string(weight.shape()));
  if (shape_numel(ids_shape) != static_cast<std::int64_t>(ids.size()))
    fail("embedding: {} ids do not fill ids shape {}", ids.size(), shape_string(ids_shape));
  const std::int64_t V = weight.shape()[0], D = weight.shape()[1];
  check_ids(ids, V, "embedding", "weight " + shape_string(weight.shape()));
  Shape output_shape = ids_shape;
  output_shape.push_back(D);
  Tensor output = Tensor::empty(output_shape, weight.dtype());
  if (output.numel() == 0) return output;
  const Tensor table = weight.contiguous();
  dispatch_dtype(weight.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::gather(table.data<T>(), 1, V, D, ids.data(), static_cast<std::int64_t>(ids.size()), output.data<T>());
  });
  return output;
}

Tensor embedding_backward(const Tensor& grad_output, const std::vector<std::int64_t>& ids,
                          std::int64_t vocabulary_size, std::int64_t padding_index) {
  const char* op = "embedding_backward";
  check_defined(grad_output, op, "grad_output");
  const std::int64_t D = row_length(grad_output, op);
  const auto count = static_cast<std::int64_t>(ids.size());
  if (vocabulary_size < 0) fail("{}: negative vocabulary size {}", op, vocabulary_size);
  if (shape_numel(Shape(grad_output.shape().begin(), grad_output.shape().end() - 1)) != count)
    fail("{}: gradient {} does not hold one row of D = {} per id ({} ids)", op, shape_string(grad_output.shape()), D,
         count);
  if (padding_index < -1 || padding_index >= vocabulary_size)
    fail("{}: padding index {} is out of range for a vocabulary of {} rows (-1 = none)", op, padding_index,
         vocabulary_size);
  check_ids(ids, vocabulary_size, op, "gradient " + shape_string(grad_output.shape()));
  Tensor grad_weight = Tensor::zeros({vocabulary_size, D}, grad_output.dtype());
  if (count == 0 || D == 0) return grad_weight;
  const Tensor upstream = grad_output.contiguous();
  dispatch_dtype(grad_output.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::scatter_add(upstream.data<T>(), 1, count, D, ids.data(), vocabulary_size, padding_index,
                         grad_weight.data<T>());
  });
  return grad_weight;
}

void adamw_update_(Tensor& parameter, const Tensor& gradient, Tensor& first_moment, Tensor& second_moment,
                   const AdamWStep& step) {
  const char* op = "adamw_update_";
  check_defined(parameter, op, "parameter");
  check_defined(gradient, op, "gradient");
  check_defined(first_moment, op, "first_moment");
  check_defined(second_moment, op, "second_moment");
  for (const Tensor* tensor : std::initializer_list<const Tensor*>{&gradient, &first_moment, &second_moment}) {
    check_same_dtype(parameter, *tensor, op);
    check_same_shape(parameter, *tensor, op);
  }
  for (const Tensor* tensor : std::initializer_list<const Tensor*>{&parameter, &gradient, &first_moment, &second_moment})
    if (!tensor->is_contiguous())
      fail("{}: every tensor must be contiguous; got strides {} for shape {}", op, shape_string(tensor->strides()),
           shape_string(tensor->shape()));
  if (step.step < 1) fail("{}: step must count from 1, got {} (parameter {})", op, step.step, shape_string(parameter.shape()));
  dispatch_dtype(parameter.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::adamw_update(parameter.data<T>(), gradient.data<T>(), first_moment.data<T>(), second_moment.data<T>(),
                          parameter.numel(), step);
  });
  parameter.bump_version();
  first_moment.bump_version();
  second_moment.bump_version();
}

}  // namespace sf::compute
