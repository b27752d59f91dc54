// Helpers of the kernel test suites (test_kernels_*.cpp): random data, closeness checks with
// per-dtype tolerances, bitwise comparison for the 1-vs-2-threads checks, naive tensor-level
// references built only from Tensor views and the scalar *_reference kernels.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "sf/core/kernels/elementwise.hpp"
#include "sf/core/parallel.hpp"
#include "sf/core/random.hpp"
#include "sf/core/tensor.hpp"

namespace sf::test {

// Sizes that put elements in full vectors, in partial tails and both (16 floats / 8 doubles a
// vector on AVX-512), plus sizes large enough to split across threads.
inline const std::vector<std::int64_t> kTailSizes = {0, 1, 7, 15, 16, 17, 33, 1000, 100003};
inline const std::vector<DType> kDTypes = {DType::Float32, DType::Float64};

struct Tolerance {
  double relative, absolute;
};
// SIMD math (xsimd exp/log/tanh/erf, fma) vs libm differs by a few ulps.
inline Tolerance tolerance_for(DType dtype) {
  return dtype == DType::Float32 ? Tolerance{3e-5, 1e-6} : Tolerance{1e-11, 1e-13};
}

inline bool close_enough(double actual, double expected, Tolerance tolerance) {
  if (std::isnan(actual) || std::isnan(expected)) return std::isnan(actual) && std::isnan(expected);
  if (std::isinf(actual) || std::isinf(expected)) return actual == expected;
  return std::fabs(actual - expected) <= tolerance.absolute + tolerance.relative * std::fabs(expected);
}

// Checks every element, reporting the count of mismatches and the first one.
template <class T>
void check_close_values(const T* actual, const T* expected, std::int64_t count, Tolerance tolerance,
                        const std::string& context) {
  std::int64_t mismatches = 0, first = -1;
  for (std::int64_t index = 0; index < count; ++index)
    if (!close_enough(static_cast<double>(actual[index]), static_cast<double>(expected[index]), tolerance)) {
      if (first < 0) first = index;
      ++mismatches;
    }
  BOOST_TEST_INFO(context);
  if (mismatches == 0) {
    BOOST_TEST(mismatches == 0);
    return;
  }
  std::ostringstream message;
  message.precision(17);
  message << mismatches << " of " << count << " elements differ; first at " << first << ": " << actual[first]
          << " vs expected " << expected[first];
  BOOST_TEST_INFO(message.str());
  BOOST_TEST(mismatches == 0);
}

inline void check_close(const Tensor& actual, const Tensor& expected, Tolerance tolerance, const std::string& context) {
  BOOST_TEST_INFO(context);
  BOOST_REQUIRE_MESSAGE(actual.shape() == expected.shape(),
                        "shape " << shape_string(actual.shape()) << " vs expected " << shape_string(expected.shape()));
  BOOST_TEST((actual.dtype() == expected.dtype()));
  const std::vector<double> actual_values = actual.to_vector(), expected_values = expected.to_vector();
  check_close_values(actual_values.data(), expected_values.data(), static_cast<std::int64_t>(actual_values.size()),
                     tolerance, context);
}

inline void check_close(const Tensor& actual, const Tensor& expected, const std::string& context) {
  check_close(actual, expected, tolerance_for(expected.dtype()), context);
}

// Same shape, dtype and bytes.
inline bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor left = a.contiguous(), right = b.contiguous();
  return std::memcmp(left.raw_data(), right.raw_data(), static_cast<std::size_t>(left.numel()) * left.element_size()) ==
         0;
}

inline Tensor random_tensor(const Shape& shape, DType dtype, std::uint64_t seed, double low = -2.0, double high = 2.0) {
  Generator generator(seed);
  return uniform(shape, generator, low, high, dtype);
}

template <class T>
std::vector<T> random_values(std::int64_t count, std::uint64_t seed, double low = -2.0, double high = 2.0) {
  return random_tensor({count}, dtype_of<T>(), seed, low, high).template values<T>();
}

// compute() run with 1 and with 2 threads; true when both results are bitwise equal.
template <class Compute>
void check_thread_invariant(Compute&& compute, const std::string& context) {
  std::vector<Tensor> single, dual;
  {
    parallel::ThreadCountGuard guard(1);
    single = compute();
  }
  {
    parallel::ThreadCountGuard guard(2);
    dual = compute();
  }
  BOOST_TEST_INFO(context);
  BOOST_REQUIRE(single.size() == dual.size());
  for (std::size_t index = 0; index < single.size(); ++index) {
    BOOST_TEST_INFO("output " << index << " of " << context);
    BOOST_TEST(bitwise_equal(single[index], dual[index]));
  }
}

// The naive tensor-level binary op: both inputs materialized at the broadcast shape by Tensor
// views + contiguous(), then the scalar reference kernel.
inline Tensor naive_binary(kernels::Binary op, const Tensor& a, const Tensor& b) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "naive");
  const Tensor left = a.expand(shape).contiguous(), right = b.expand(shape).contiguous();
  Tensor out = Tensor::empty(shape, a.dtype());
  dispatch_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::binary_reference(op, left.data<T>(), 1, right.data<T>(), 1, out.data<T>(), out.numel());
  });
  return out;
}

// Row-major multi-index of a flat position.
inline std::vector<std::int64_t> unravel(std::int64_t position, const Shape& shape) {
  std::vector<std::int64_t> index(shape.size());
  for (std::size_t axis = shape.size(); axis-- > 0;) {
    index[axis] = position % shape[axis];
    position /= shape[axis];
  }
  return index;
}

}  // namespace sf::test
