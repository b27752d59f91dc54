// The gradient-check cases: each op over shapes chosen to reach every code path — broadcasting,
// size-1 axes, non-contiguous inputs (a transposed or sliced view made inside the function) and
// empty tensors.
#include "sf/autograd/gradcheck_cases.hpp"

#include <cmath>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/functional_fused.hpp"
#include "sf/autograd/functional_local_attention.hpp"
#include "sf/core/compute.hpp"
#include "sf/core/random.hpp"

namespace sf {
namespace {

using Inputs = std::vector<Variable>;
using Function = std::function<Variable(const Inputs&)>;

enum class Values { Any, Positive, AwayFromZero };

class CaseList {
 public:
  std::vector<GradcheckCase> cases;

  Tensor input(const Shape& shape, Values kind = Values::Any) {
    Generator generator(1000 + next_seed_++);
    Tensor values = normal(shape, generator, 0.0, 1.0, DType::Float64);
    double* data = values.data<double>();
    for (std::int64_t index = 0; index < values.numel(); ++index) {
      if (kind == Values::Positive) data[index] = 0.5 + std::abs(data[index]);
      if (kind == Values::AwayFromZero) data[index] = (data[index] < 0 ? -0.3 : 0.3) + data[index];
    }
    return values;
  }

  void add(std::string op, std::string shapes, std::vector<Tensor> values, Function fn, GradcheckOptions options = {}) {
    cases.push_back({std::move(op), std::move(shapes), [values = std::move(values), fn = std::move(fn), options] {
                       return gradcheck(fn, values, options);
                     }});
  }

  // The common binary-op shape list.
  void add_binary(const std::string& op, const std::function<Variable(const Variable&, const Variable&)>& fn,
                  Values right = Values::Any) {
    add(op, "[2, 3] . [2, 3]", {input({2, 3}), input({2, 3}, right)}, [fn](const Inputs& x) { return fn(x[0], x[1]); });
    add(op, "[2, 3] . [3] (broadcast row)", {input({2, 3}), input({3}, right)},
        [fn](const Inputs& x) { return fn(x[0], x[1]); });
    add(op, "[4, 1, 3] . [2, 1] (both broadcast)", {input({4, 1, 3}), input({2, 1}, right)},
        [fn](const Inputs& x) { return fn(x[0], x[1]); });
    add(op, "[2, 3] . [] (0-d)", {input({2, 3}), input({}, right)}, [fn](const Inputs& x) { return fn(x[0], x[1]); });
    add(op, "transpose([3, 2]) . [2, 3] (non-contiguous)", {input({3, 2}), input({2, 3}, right)},
        [fn](const Inputs& x) { return fn(transpose(x[0], 0, 1), x[1]); });
    add(op, "[0, 3] . [3] (empty)", {input({0, 3}), input({3}, right)}, [fn](const Inputs& x) { return fn(x[0], x[1]); });
  }

  void add_unary(const std::string& op, const std::function<Variable(const Variable&)>& fn, Values kind = Values::Any) {
    add(op, "[3, 4]", {input({3, 4}, kind)}, [fn](const Inputs& x) { return fn(x[0]); });
    add(op, "[1, 5, 1]", {input({1, 5, 1}, kind)}, [fn](const Inputs& x) { return fn(x[0]); });
    add(op, "transpose([4, 3]) (non-contiguous)", {input({4, 3}, kind)},
        [fn](const Inputs& x) { return fn(transpose(x[0], 0, 1)); });
    add(op, "[0, 2] (empty)", {input({0, 2}, kind)}, [fn](const Inputs& x) { return fn(x[0]); });
  }

 private:
  std::uint64_t next_seed_ = 0;
};

void add_elementwise_cases(CaseList& list) {
  list.add_binary("add", [](const Variable& a, const Variable& b) { return a + b; });
  list.add_binary("subtract", [](const Variable& a, const Variable& b) { return a - b; });
  list.add_binary("multiply", [](const Variable& a, const Variable& b) { return a * b; });
  list.add_binary("divide", [](const Variable& a, const Variable& b) { return a / b; }, Values::AwayFromZero);
  list.add_binary("maximum", [](const Variable& a, const Variable& b) { return maximum(a, b); });
  list.add_binary("minimum", [](const Variable& a, const Variable& b) { return minimum(a, b); });
  list.add_unary("negate", [](const Variable& x) { return -x; });
  list.add_unary("add_scalar", [](const Variable& x) { return x + 2.5; });
  list.add_unary("multiply_scalar", [](const Variable& x) { return x * -1.5; });
  list.add_unary("exp", [](const Variable& x) { return exp(x); });
  list.add_unary("log", [](const Variable& x) { return log(x); }, Values::Positive);
  list.add_unary("sqrt", [](const Variable& x) { return sqrt(x); }, Values::Positive);
  list.add_unary("abs", [](const Variable& x) { return abs(x); }, Values::AwayFromZero);
  list.add_unary("pow", [](const Variable& x) { return pow(x, 3.0); });
  list.add_unary("pow", [](const Variable& x) { return pow(x, -1.5); }, Values::Positive);
  list.add_unary("clamp", [](const Variable& x) { return clamp(x, -0.5, 0.7); });
  list.add_unary("sigmoid", [](const Variable& x) { return sigmoid(x); });
  list.add_unary("tanh", [](const Variable& x) { return tanh(x); });
  list.add_unary("relu", [](const Variable& x) { return relu(x); });
  list.add_unary("gelu", [](const Variable& x) { return gelu(x, GeluApproximation::Erf); });
  list.add_unary("gelu_tanh", [](const Variable& x) { return gelu(x, GeluApproximation::Tanh); });

  const Tensor condition = Tensor::from_vector(std::vector<double>{1, 0, 1}, {3});
  list.add("where", "cond [3], [2, 3], [2, 1]", {list.input({2, 3}), list.input({2, 1})},
           [condition](const Inputs& x) { return where(condition, x[0], x[1]); });
  const Tensor mask = Tensor::from_vector(std::vector<double>{0, 1, 0, 0, 1, 1}, {2, 1, 3});
  list.add("masked_fill", "[2, 4, 3] mask [2, 1, 3]", {list.input({2, 4, 3})},
           [mask](const Inputs& x) { return masked_fill(x[0], mask, -2.0); });
}

void add_reduction_and_shape_cases(CaseList& list) {
  list.add("sum", "[2, 3, 4] all axes", {list.input({2, 3, 4})}, [](const Inputs& x) { return sum(x[0]); });
  list.add("sum", "[2, 3, 4] axes {0, 2}", {list.input({2, 3, 4})}, [](const Inputs& x) { return sum(x[0], {0, 2}); });
  list.add("sum", "[2, 3, 4] axis -1 keepdim", {list.input({2, 3, 4})},
           [](const Inputs& x) { return sum(x[0], {-1}, true); });
  list.add("sum", "[0, 3] axis 0 (empty)", {list.input({0, 3})}, [](const Inputs& x) { return sum(x[0], {0}); });
  list.add("mean", "[2, 3, 4] axis 1", {list.input({2, 3, 4})}, [](const Inputs& x) { return mean(x[0], {1}); });
  list.add("mean", "transpose([4, 3]) all (non-contiguous)", {list.input({4, 3})},
           [](const Inputs& x) { return mean(transpose(x[0], 0, 1)); });
  list.add("max", "[3, 5] axis 1", {list.input({3, 5})}, [](const Inputs& x) { return max(x[0], 1); });
  list.add("max", "[2, 3, 4] axis 0 keepdim", {list.input({2, 3, 4})}, [](const Inputs& x) { return max(x[0], 0, true); });

  list.add("reshape", "[2, 3, 4] -> [6, -1]", {list.input({2, 3, 4})},
           [](const Inputs& x) { return reshape(x[0], {6, -1}) * reshape(x[0], {6, 4}); });
  list.add("reshape", "transpose([3, 4]) -> [12] (copy)", {list.input({3, 4})},
           [](const Inputs& x) { return reshape(transpose(x[0], 0, 1), {12}); });
  list.add("permute", "[2, 3, 4] (2, 0, 1)", {list.input({2, 3, 4})},
           [](const Inputs& x) { return permute(x[0], {2, 0, 1}) * 2.0; });
  list.add("transpose", "[2, 3, 4] (0, 2)", {list.input({2, 3, 4})}, [](const Inputs& x) { return transpose(x[0], 0, 2); });
  list.add("expand", "[3, 1] -> [2, 3, 4]", {list.input({3, 1})}, [](const Inputs& x) { return expand(x[0], {2, 3, 4}); });
  list.add("slice", "[5, 4] axis 0 [1:5:2]", {list.input({5, 4})}, [](const Inputs& x) { return slice(x[0], 0, 1, 5, 2); });
  list.add("slice", "[3, 6] axis -1 [-3:]", {list.input({3, 6})}, [](const Inputs& x) { return slice(x[0], -1, -3, 6); });
  list.add("unsqueeze", "[3, 4] axis 1", {list.input({3, 4})}, [](const Inputs& x) { return unsqueeze(x[0], 1); });
  list.add("squeeze", "[3, 1, 4] axis 1", {list.input({3, 1, 4})}, [](const Inputs& x) { return squeeze(x[0], 1); });
  list.add("concat", "[2, 3] + [4, 3] axis 0", {list.input({2, 3}), list.input({4, 3})},
           [](const Inputs& x) { return concat({x[0], x[1]}, 0); });
  list.add("concat", "[2, 3] + transpose([2, 2]) + [2, 0] axis 1", {list.input({2, 3}), list.input({2, 2}), list.input({2, 0})},
           [](const Inputs& x) { return concat({x[0], transpose(x[1], 0, 1), x[2]}, 1); });
  list.add("stack", "3 x [2, 3] axis 1", {list.input({2, 3}), list.input({2, 3}), list.input({2, 3})},
           [](const Inputs& x) { return stack({x[0], x[1], x[2]}, 1); });
  list.add("index_select", "[5, 3] axis 0 {4, 0, 4, 2}", {list.input({5, 3})},
           [](const Inputs& x) { return index_select(x[0], 0, {4, 0, 4, 2}); });
  list.add("index_select", "[2, 5, 3] axis 1 {1, 1}", {list.input({2, 5, 3})},
           [](const Inputs& x) { return index_select(x[0], 1, {1, 1}); });
  list.add("gather", "[3, 4] axis 1 index [3, 2]", {list.input({3, 4})},
           [](const Inputs& x) { return gather(x[0], 1, {0, 3, 2, 2, 1, 0}, {3, 2}); });
}

void add_fused_cases(CaseList& list) {
  list.add("matmul", "[3, 4] x [4, 5]", {list.input({3, 4}), list.input({4, 5})},
           [](const Inputs& x) { return matmul(x[0], x[1]); });
  list.add("matmul", "[3, 4] x [5, 4]^T", {list.input({3, 4}), list.input({5, 4})},
           [](const Inputs& x) { return matmul(x[0], x[1], false, true); });
  list.add("matmul", "[4, 3]^T x [4, 5]", {list.input({4, 3}), list.input({4, 5})},
           [](const Inputs& x) { return matmul(x[0], x[1], true, false); });
  list.add("matmul", "[4, 3]^T x [5, 4]^T", {list.input({4, 3}), list.input({5, 4})},
           [](const Inputs& x) { return matmul(x[0], x[1], true, true); });
  list.add("matmul", "[2, 3, 4] x [4, 5] (broadcast batch)", {list.input({2, 3, 4}), list.input({4, 5})},
           [](const Inputs& x) { return matmul(x[0], x[1]); });
  list.add("matmul", "[2, 1, 3, 4] x [3, 4, 2]", {list.input({2, 1, 3, 4}), list.input({3, 4, 2})},
           [](const Inputs& x) { return matmul(x[0], x[1]); });
  list.add("matmul", "transpose([4, 3]) x [4, 2] (view as transposed layout)", {list.input({4, 3}), list.input({4, 2})},
           [](const Inputs& x) { return matmul(transpose(x[0], 0, 1), x[1]); });
  list.add("linear", "[2, 3, 4] W [5, 4] b [5]", {list.input({2, 3, 4}), list.input({5, 4}), list.input({5})},
           [](const Inputs& x) { return linear(x[0], x[1], x[2]); });
  list.add("linear", "[3, 4] W [2, 4] no bias", {list.input({3, 4}), list.input({2, 4})},
           [](const Inputs& x) { return linear(x[0], x[1], Variable()); });
  list.add("softmax", "[3, 5]", {list.input({3, 5})}, [](const Inputs& x) { return softmax(x[0]); });
  list.add("softmax", "transpose([4, 2, 3]) (non-contiguous)", {list.input({4, 2, 3})},
           [](const Inputs& x) { return softmax(transpose(x[0], 0, 2)); });
  list.add("log_softmax", "[3, 5]", {list.input({3, 5})}, [](const Inputs& x) { return log_softmax(x[0]); });
  list.add("log_softmax", "[2, 1, 4]", {list.input({2, 1, 4})}, [](const Inputs& x) { return log_softmax(x[0]); });
  const std::vector<std::int64_t> targets{2, 0, 4, 1};
  list.add("cross_entropy", "[4, 5] mean", {list.input({4, 5})},
           [targets](const Inputs& x) { return cross_entropy(x[0], targets); });
  list.add("cross_entropy", "[4, 5] sum, label smoothing 0.1", {list.input({4, 5})}, [targets](const Inputs& x) {
    return cross_entropy(x[0], targets, {.label_smoothing = 0.1, .reduction = Reduction::Sum});
  });
  list.add("cross_entropy", "[4, 5] none, ignore_index on row 2", {list.input({4, 5})}, [](const Inputs& x) {
    return cross_entropy(x[0], {2, 0, -100, 1}, {.reduction = Reduction::None});
  });
  list.add("cross_entropy", "[4, 5] mean, smoothing 0.2, ignore_index", {list.input({4, 5})}, [](const Inputs& x) {
    return cross_entropy(x[0], {2, -100, 4, 1}, {.label_smoothing = 0.2});
  });
  list.add("layer_norm", "[3, 4, 6] weight [6] bias [6]", {list.input({3, 4, 6}), list.input({6}), list.input({6})},
           [](const Inputs& x) { return layer_norm(x[0], x[1], x[2]); });
  list.add("layer_norm", "[5, 4] no affine", {list.input({5, 4})},
           [](const Inputs& x) { return layer_norm(x[0], Variable(), Variable()); });
  list.add("layer_norm", "transpose([6, 3]) weight only (non-contiguous)", {list.input({6, 3}), list.input({6})},
           [](const Inputs& x) { return layer_norm(transpose(x[0], 0, 1), x[1], Variable()); });
  list.add("dropout", "[4, 6] p = 0.3 (fixed seed)", {list.input({4, 6})}, [](const Inputs& x) {
    Generator generator(77);
    return dropout(x[0], 0.3, true, generator);
  });
  // (The padding row deliberately gets no gradient, so gradcheck uses ids without it; the
  // padding rule has its own test in tests/autograd.)
  list.add("embedding", "W [6, 3], ids [2, 4] with repeats", {list.input({6, 3})}, [](const Inputs& x) {
    return embedding(x[0], {1, 5, 0, 1, 2, 2, 0, 3}, {2, 4});
  });
  list.add("embedding", "W [6, 3], ids [2, 4], padding 4 (absent)", {list.input({6, 3})}, [](const Inputs& x) {
    return embedding(x[0], {1, 5, 0, 1, 2, 2, 0, 3}, {2, 4}, 4);
  });
  list.add("gumbel_softmax", "[3, 4] soft, tau 0.7 (fixed seed)", {list.input({3, 4})}, [](const Inputs& x) {
    Generator generator(5);
    return gumbel_softmax(x[0], 0.7, false, generator);
  });
}

void add_attention_cases(CaseList& list) {
  list.add("attention", "q [2, 3, 4] k [2, 5, 4] v [2, 5, 3] full",
           {list.input({2, 3, 4}), list.input({2, 5, 4}), list.input({2, 5, 3})},
           [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); });
  const Tensor keep = Tensor::from_vector(std::vector<double>{1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, {3, 5});
  list.add("attention", "boolean mask [3, 5] with a fully masked row",
           {list.input({2, 3, 4}), list.input({2, 5, 4}), list.input({2, 5, 3})},
           [keep](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], keep, true); });
  const Tensor additive = Tensor::from_vector(std::vector<double>{0.5, -1.0, 0.0, 2.0, -0.25}, {1, 5});
  list.add("attention", "additive mask [1, 5], heads [2, 2, 3, 4]",
           {list.input({2, 2, 3, 4}), list.input({2, 2, 5, 4}), list.input({2, 2, 5, 2})},
           [additive](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], additive, false); });
  list.add("attention", "local window 1 over L = 6", {list.input({1, 6, 4}), list.input({1, 6, 4}), list.input({1, 6, 3})},
           [](const Inputs& x) {
             return scaled_dot_product_attention(x[0], x[1], x[2], Tensor(), true, {.window = 1});
           });
  list.add("attention", "dropout 0.25 (fixed seed)", {list.input({2, 3, 4}), list.input({2, 4, 4}), list.input({2, 4, 3})},
           [](const Inputs& x) {
             Generator generator(11);
             return scaled_dot_product_attention(x[0], x[1], x[2], Tensor(), true, {.dropout = 0.25, .training = true},
                                                 &generator);
           });
}

void add_local_attention_cases(CaseList& list) {
  list.add("local_attention", "q, k, v [1, 2, 7, 3], window 2, relative bias [2, 5]",
           {list.input({1, 2, 7, 3}), list.input({1, 2, 7, 3}), list.input({1, 2, 7, 3}), list.input({2, 5})},
           [](const Inputs& x) { return local_attention(x[0], x[1], x[2], 2, x[3]); });
  const Tensor keep = Tensor::from_vector(std::vector<double>{1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0}, {2, 6});
  list.add("local_attention", "[2, 1, 6, 4], window 1, padding mask, no bias",
           {list.input({2, 1, 6, 4}), list.input({2, 1, 6, 4}), list.input({2, 1, 6, 4})},
           [keep](const Inputs& x) { return local_attention(x[0], x[1], x[2], 1, Variable(), keep); });
  list.add("local_attention", "permuted views [1, 5, 2, 4] -> [1, 2, 5, 4], window 3 > edges",
           {list.input({1, 5, 2, 4}), list.input({1, 5, 2, 4}), list.input({1, 5, 2, 4}), list.input({2, 7})},
           [](const Inputs& x) {
             return local_attention(permute(x[0], {0, 2, 1, 3}), permute(x[1], {0, 2, 1, 3}), permute(x[2], {0, 2, 1, 3}),
                                    3, x[3]);
           });
}

void add_fused_block_cases(CaseList& list) {
  list.add("neighbor_mean", "[2, 5, 3]", {list.input({2, 5, 3})}, [](const Inputs& x) { return neighbor_mean(x[0]); });
  list.add("neighbor_mean", "transpose([3, 4, 2]) -> [2, 4, 3] (non-contiguous)", {list.input({3, 4, 2})},
           [](const Inputs& x) { return neighbor_mean(transpose(x[0], 0, 2)); });
  list.add("gated_interpolation", "3 x [2, 3, 4]", {list.input({2, 3, 4}), list.input({2, 3, 4}), list.input({2, 3, 4})},
           [](const Inputs& x) { return gated_interpolation(x[0], x[1], x[2]); });
  list.add("gated_residual", "3 x [2, 3, 4]", {list.input({2, 3, 4}), list.input({2, 3, 4}), list.input({2, 3, 4})},
           [](const Inputs& x) { return gated_residual(x[0], x[1], x[2]); });
  list.add("linear_concat", "[2, 3, 4] ++ [2, 3, 2] W [5, 6] b [5]",
           {list.input({2, 3, 4}), list.input({2, 3, 2}), list.input({5, 6}), list.input({5})},
           [](const Inputs& x) { return linear_concat(x[0], x[1], x[2], x[3]); });
  list.add("linear_concat", "[3, 2] ++ transpose([3, 3]) W [4, 5] no bias",
           {list.input({3, 2}), list.input({3, 3}), list.input({4, 5})},
           [](const Inputs& x) { return linear_concat(x[0], transpose(x[1], 0, 1), x[2], Variable()); });
}

}  // namespace

const std::vector<GradcheckCase>& gradcheck_cases() {
  static const std::vector<GradcheckCase> cases = [] {
    CaseList list;
    add_elementwise_cases(list);
    add_reduction_and_shape_cases(list);
    add_fused_cases(list);
    add_attention_cases(list);
    add_local_attention_cases(list);
    add_fused_block_cases(list);
    return list.cases;
  }();
  return cases;
}

std::vector<std::string> gradcheck_op_names() {
  std::vector<std::string> names;
  for (const GradcheckCase& entry : gradcheck_cases())
    if (names.empty() || names.back() != entry.op) names.push_back(entry.op);
  return names;
}

}  // namespace sf
