// Tensor-level elementwise functions: shape/dtype checks, broadcasting plans (broadcast.hpp),
// then the strided kernels of kernels/elementwise.hpp.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "broadcast.hpp"
#include "sf/core/compute_elementwise.hpp"
#include "sf/core/kernels/random_bits.hpp"
#include "sf/core/parallel.hpp"

namespace sf::compute {
namespace {

using detail::check_defined;

// A fresh contiguous tensor of x's shape and dtype holding fill(x_data, out_data, count) applied
// to a contiguous x; typed through dispatch_dtype.
template <class Fill>
Tensor map_contiguous(const Tensor& x, Fill&& fill) {
  const Tensor input = x.contiguous();
  Tensor output = Tensor::empty(x.shape(), x.dtype());
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    fill(input.data<T>(), output.data<T>(), input.numel());
  });
  return output;
}

// op(a, b) into a fresh tensor of the broadcast shape, one strided kernel call per row.
Tensor broadcast_binary(Binary op, const Tensor& a, const Tensor& b) {
  const char* name = kernels::binary_name(op);
  check_defined(a, name, "first input");
  check_defined(b, name, "second input");
  check_same_dtype(a, b, name);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor output = Tensor::empty(shape, a.dtype());
  if (output.numel() == 0) return output;
  const auto plan = detail::plan_broadcast<2>(shape, {a, b});
  dispatch_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    detail::for_each_row(plan, output.data<T>(), [op](T* out, const auto& in, const auto& strides, std::int64_t length) {
      kernels::binary(op, in[0], strides[0], in[1], strides[1], out, length);
    });
  });
  return output;
}

}  // namespace

Tensor unary(Unary op, const Tensor& x) {
  check_defined(x, kernels::unary_name(op), "input");
  return map_contiguous(x, [op](const auto* input, auto* output, std::int64_t count) {
    kernels::unary(op, input, output, count);
  });
}

Tensor unary_backward(Unary op, const Tensor& x, const Tensor& y, const Tensor& grad_y) {
  const std::string name = fmt::format("{}_backward", kernels::unary_name(op));
  check_defined(grad_y, name.c_str(), "grad_y");
  const UnarySaved saved_kind = kernels::unary_saved(op);
  Tensor saved = grad_y;  // read but unused by ops that need neither x nor y
  if (saved_kind == UnarySaved::Input) {
    if (!x.defined()) fail("{}: needs the input x, which is undefined", name);
    saved = x;
  } else if (saved_kind == UnarySaved::Output) {
    if (!y.defined()) fail("{}: needs the output y, which is undefined", name);
    saved = y;
  }
  check_same_dtype(saved, grad_y, name.c_str());
  check_same_shape(saved, grad_y, name.c_str());
  const Tensor saved_values = saved.contiguous();
  return map_contiguous(grad_y, [&](const auto* upstream, auto* output, std::int64_t count) {
    using T = std::remove_cvref_t<decltype(*upstream)>;
    kernels::unary_backward(op, saved_values.data<T>(), upstream, output, count);
  });
}

Tensor binary(Binary op, const Tensor& a, const Tensor& b) { return broadcast_binary(op, a, b); }
Tensor add(const Tensor& a, const Tensor& b) { return broadcast_binary(Binary::Add, a, b); }
Tensor subtract(const Tensor& a, const Tensor& b) { return broadcast_binary(Binary::Subtract, a, b); }
Tensor multiply(const Tensor& a, const Tensor& b) { return broadcast_binary(Binary::Multiply, a, b); }
Tensor divide(const Tensor& a, const Tensor& b) { return broadcast_binary(Binary::Divide, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return broadcast_binary(Binary::Maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return broadcast_binary(Binary::Minimum, a, b); }

Tensor add_scalar(const Tensor& x, double value) {
  check_defined(x, "add_scalar", "input");
  return broadcast_binary(Binary::Add, x, Tensor::scalar(value, x.dtype()));
}

Tensor multiply_scalar(const Tensor& x, double value) {
  check_defined(x, "multiply_scalar", "input");
  return broadcast_binary(Binary::Multiply, x, Tensor::scalar(value, x.dtype()));
}

Tensor power_scalar(const Tensor& x, double exponent) {
  check_defined(x, "power_scalar", "input");
  return map_contiguous(x, [exponent](const auto* input, auto* output, std::int64_t count) {
    using T = std::remove_cvref_t<decltype(*input)>;
    kernels::power_scalar(input, static_cast<T>(exponent), output, count);
  });
}

Tensor clamp(const Tensor& x, double low, double high) {
  check_defined(x, "clamp", "input");
  if (low > high) fail("clamp: low {} is greater than high {} for tensor {}", low, high, shape_string(x.shape()));
  return map_contiguous(x, [low, high](const auto* input, auto* output, std::int64_t count) {
    using T = std::remove_cvref_t<decltype(*input)>;
    kernels::clamp(input, static_cast<T>(low), static_cast<T>(high), output, count);
  });
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_defined(condition, "where", "condition");
  check_defined(a, "where", "a");
  check_defined(b, "where", "b");
  check_same_dtype(a, b, "where");
  const Shape& c_shape = condition.shape();
  Shape shape;
  try {
    shape = broadcast_shapes(broadcast_shapes(c_shape, a.shape(), "where"), b.shape(), "where");
  } catch (const Error&) {
    fail("where: shapes cannot be broadcast: condition {}, a {}, b {}", shape_string(c_shape), shape_string(a.shape()),
         shape_string(b.shape()));
  }
  // A condition of the other dtype becomes exact 0/1 in its own dtype first (converting its raw
  // values could flush a tiny double to a float 0).
  const Tensor selector = condition.dtype() == a.dtype()
                              ? condition
                              : binary(Binary::NotEqual, condition, Tensor::scalar(0.0, condition.dtype())).to(a.dtype());
  Tensor output = Tensor::empty(shape, a.dtype());
  if (output.numel() == 0) return output;
  const auto plan = detail::plan_broadcast<3>(shape, {selector, a, b});
  dispatch_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    detail::for_each_row(plan, output.data<T>(), [](T* out, const auto& in, const auto& strides, std::int64_t length) {
      kernels::where(in[0], strides[0], in[1], strides[1], in[2], strides[2], out, length);
    });
  });
  return output;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_defined(x, "masked_fill", "input");
  check_defined(mask, "masked_fill", "mask");
  if (!is_broadcastable_to(mask.shape(), x.shape()))
    fail("masked_fill: mask {} cannot be broadcast to input {}", shape_string(mask.shape()), shape_string(x.shape()));
  return where(mask, Tensor::scalar(value, x.dtype()), x);
}

void add_(Tensor& destination, const Tensor& source, double alpha) {
  check_defined(destination, "add_", "destination");
  check_defined(source, "add_", "source");
  check_same_dtype(destination, source, "add_");
  if (!destination.is_contiguous())
    fail("add_: destination {} must be contiguous (strides {})", shape_string(destination.shape()),
         shape_string(destination.strides()));
  if (!is_broadcastable_to(source.shape(), destination.shape()))
    fail("add_: source {} cannot be broadcast to destination {}", shape_string(source.shape()),
         shape_string(destination.shape()));
  if (destination.numel() > 0) {
    const auto plan = detail::plan_broadcast<2>(destination.shape(), {destination, source});
    dispatch_dtype(destination.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T factor = static_cast<T>(alpha);
      detail::for_each_row(plan, destination.data<T>(),
                           [factor](T* out, const auto& in, const auto& strides, std::int64_t length) {
                             kernels::add_scaled(in[0], strides[0], in[1], strides[1], factor, out, length);
                           });
    });
  }
  destination.bump_version();
}

void scale_(Tensor& destination, double factor) {
  check_defined(destination, "scale_", "destination");
  if (!destination.is_contiguous())
    fail("scale_: destination {} must be contiguous (strides {})", shape_string(destination.shape()),
         shape_string(destination.strides()));
  dispatch_dtype(destination.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T typed = static_cast<T>(factor);
    T* data = destination.data<T>();
    kernels::binary(Binary::Multiply, data, 1, &typed, 0, data, destination.numel());
  });
  destination.bump_version();
}

namespace {

// A draw's word keeps its element iff it is below round((1 - p) · 2^32) (kernels/random_bits.hpp).
std::uint64_t dropout_keep_threshold(double drop_probability) {
  return static_cast<std::uint64_t>(std::llround(std::ldexp(1.0 - drop_probability, 32)));
}

}  // namespace

Tensor dropout_mask(const Shape& shape, Generator& generator, double drop_probability, DType dtype) {
  if (!(drop_probability >= 0.0 && drop_probability <= 1.0))
    fail("dropout_mask: drop probability must be in [0, 1], got {} (shape {})", drop_probability, shape_string(shape));
  Tensor mask = Tensor::empty(shape, dtype);
  const std::int64_t count = mask.numel();
  // One Philox block (four 32-bit words) per four elements; see kernels/random_bits.hpp. A
  // process's share of a split batch may start inside a block (Generator::Shard): the kernel
  // then skips that block's first `skip` words.
  const Generator::Placement placement = generator.reserve_draw(count, 4);
  const double scale = dropout_kept_value(drop_probability, dtype);
  const std::uint64_t keep_threshold = dropout_keep_threshold(drop_probability);
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    kernels::dropout_mask<T>(generator.seed, placement.first, placement.skip, keep_threshold, static_cast<T>(scale),
                             mask.data<T>(), count);
  });
  return mask;
}

namespace {

// Plain loops over restrict pointers, which GCC vectorizes (compare and narrow; widen and blend).
template <class T>
void keep_bytes(const T* __restrict source, std::uint8_t* __restrict keep, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) keep[i] = source[i] != T(0) ? 1 : 0;
}
template <class T>
void times_kept(const T* __restrict source, const std::uint8_t* __restrict keep, T kept, T* __restrict destination,
                std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) destination[i] = source[i] * (keep[i] != 0 ? kept : T(0));
}

}  // namespace

double dropout_kept_value(double drop_probability, DType dtype) {
  const double keep = 1.0 - drop_probability;
  const double scale = keep > 0.0 ? 1.0 / keep : 0.0;
  return dtype == DType::Float32 ? static_cast<double>(static_cast<float>(scale)) : scale;
}

ByteMask to_byte_mask(const Tensor& mask, double kept_value) {
  const Tensor values = mask.contiguous();
  ByteMask packed;
  packed.shape = mask.shape();
  packed.dtype = mask.dtype();
  packed.kept_value = kept_value;
  packed.keep.resize(static_cast<std::size_t>(values.numel()));
  dispatch_dtype(mask.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (static_cast<double>(static_cast<T>(kept_value)) != kept_value)
      fail("to_byte_mask: kept value {} is not a {} (mask {})", kept_value, dtype_name(mask.dtype()), mask.describe());
    const T* source = values.data<T>();
    std::uint8_t* keep = packed.keep.data();
    parallel::parallel_for(0, values.numel(), parallel::grain::elementwise, [&](std::int64_t first, std::int64_t last) {
      keep_bytes(source + first, keep + first, last - first);
    });
  });
  return packed;
}

DropoutResult dropout(const Tensor& x, Generator& generator, double drop_probability, bool keep_mask) {
  if (!(drop_probability >= 0.0 && drop_probability <= 1.0))
    fail("dropout: drop probability must be in [0, 1], got {} (input {})", drop_probability, x.describe());
  const Tensor values = x.contiguous();
  const std::int64_t count = values.numel();
  const Generator::Placement placement = generator.reserve_draw(count, 4);  // as dropout_mask
  const double kept_value = dropout_kept_value(drop_probability, x.dtype());
  const std::uint64_t keep_threshold = dropout_keep_threshold(drop_probability);
  DropoutResult result{Tensor::empty(x.shape(), x.dtype()), ByteMask{}};
  if (keep_mask)
    result.mask = ByteMask{std::vector<std::uint8_t>(static_cast<std::size_t>(count)), x.shape(), x.dtype(),
                           kept_value};
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::dropout_apply<T>(generator.seed, placement.first, placement.skip, keep_threshold,
                              static_cast<T>(kept_value), values.data<T>(), result.output.data<T>(),
                              keep_mask ? result.mask.keep.data() : nullptr, count);
  });
  return result;
}

Tensor multiply_by_mask(const Tensor& x, const ByteMask& mask) {
  if (x.shape() != mask.shape || x.dtype() != mask.dtype)
    fail("multiply_by_mask: input {} does not match the mask [{} {}]", x.describe(), shape_string(mask.shape),
         dtype_name(mask.dtype));
  const Tensor values = x.contiguous();
  Tensor output = Tensor::empty(x.shape(), x.dtype());
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* source = values.data<T>();
    const std::uint8_t* keep = mask.keep.data();
    T* destination = output.data<T>();
    parallel::parallel_for(0, values.numel(), parallel::grain::elementwise, [&](std::int64_t first, std::int64_t last) {
      times_kept(source + first, keep + first, static_cast<T>(mask.kept_value), destination + first, last - first);
    });
  });
  return output;
}

}  // namespace sf::compute
