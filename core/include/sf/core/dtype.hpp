// Element types. float32 is for training, float64 for tight gradient checks.
// Kernels are templates over the scalar type; a Tensor carries a DType tag and
// dispatch_dtype() turns the tag back into a type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sf/core/error.hpp"

namespace sf {

enum class DType : std::uint8_t { Float32, Float64 };

constexpr std::size_t dtype_size(DType dtype) { return dtype == DType::Float32 ? 4 : 8; }
constexpr std::string_view dtype_name(DType dtype) {
  return dtype == DType::Float32 ? "float32" : "float64";
}

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::Float32; }
template <>
constexpr DType dtype_of<double>() { return DType::Float64; }

// Calls body(T{}) with T = float or double according to dtype:
//   dispatch_dtype(t.dtype(), [&](auto tag) { using T = decltype(tag); ... });
template <class Body>
decltype(auto) dispatch_dtype(DType dtype, Body&& body) {
  if (dtype == DType::Float32) return body(float{});
  return body(double{});
}

}  // namespace sf
