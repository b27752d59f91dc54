// The backward engine: accumulation, broadcasting, graph freeing, misuse errors, memory.
#include <boost/test/unit_test.hpp>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/grad_mode.hpp"
#include "sf/autograd/graph_dump.hpp"
#include "sf/autograd/node.hpp"
#include "test_util.hpp"

using sf::Tensor;
using sf::Variable;
using sf::test::check_error_message;

namespace {
Variable leaf(const std::vector<double>& values, const sf::Shape& shape, const std::string& name = "x") {
  return Variable(Tensor::from_vector(values, shape), true, name);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(engine)

BOOST_AUTO_TEST_CASE(two_op_example_from_the_docs) {
  // y = sum(x * x + x), dy/dx = 2x + 1
  Variable x = leaf({1, -2, 3}, {3});
  Variable y = sum(x * x + x);
  BOOST_TEST(y.item() == 1 + 1 + 4 - 2 + 9 + 3);
  y.backward();
  BOOST_TEST((x.grad().to_vector() == std::vector<double>{3, -3, 7}));
}

BOOST_AUTO_TEST_CASE(an_input_used_twice_accumulates) {
  Variable x = leaf({2.0}, {1});
  Variable y = sum(x * x * x);  // 3x^2 = 12
  y.backward();
  BOOST_TEST(x.grad().item() == 12.0);
  // A second backward on a new graph accumulates into .grad until zero_grad.
  sum(x * 2.0).backward();
  BOOST_TEST(x.grad().item() == 14.0);
  x.zero_grad();
  BOOST_TEST(!x.grad().defined());
}

// Gradients are added in place only into memory nothing else holds: a .grad the caller kept, an
// upstream gradient the caller passed, and one tensor returned for two inputs all stay as they were.
BOOST_AUTO_TEST_CASE(accumulating_never_writes_into_a_tensor_someone_else_holds) {
  Variable x = leaf({1, 2}, {2});
  sum(x + x).backward();  // Add returns one tensor for both inputs
  BOOST_TEST((x.grad().to_vector() == std::vector<double>{2, 2}));
  const Tensor held = x.grad();
  sum(x * 3.0).backward();
  BOOST_TEST((x.grad().to_vector() == std::vector<double>{5, 5}));
  BOOST_TEST((held.to_vector() == std::vector<double>{2, 2}));
  const Tensor kept = x.grad();
  x.zero_grad();

  Variable doubled = x * 2.0;  // not a leaf: its gradient is pending inside the engine
  const Tensor upstream = Tensor::from_vector(std::vector<double>{1, 10}, {2});
  (doubled + doubled).backward(upstream);
  BOOST_TEST((upstream.to_vector() == std::vector<double>{1, 10}));
  BOOST_TEST((x.grad().to_vector() == std::vector<double>{4, 40}));
  BOOST_TEST((kept.to_vector() == std::vector<double>{5, 5}));
}

BOOST_AUTO_TEST_CASE(broadcast_gradients_are_reduced_to_the_input_shape) {
  Variable matrix = leaf({1, 2, 3, 4, 5, 6}, {2, 3}, "matrix");
  Variable row = leaf({10, 20, 30}, {3}, "row");
  Variable column = leaf({1, 2}, {2, 1}, "column");
  sum((matrix + row) * column).backward();
  BOOST_TEST((row.grad().shape() == sf::Shape{3}));
  BOOST_TEST((row.grad().to_vector() == std::vector<double>{3, 3, 3}));
  BOOST_TEST((column.grad().shape() == sf::Shape{2, 1}));
  BOOST_TEST((column.grad().to_vector() == std::vector<double>{66, 75}));
}

BOOST_AUTO_TEST_CASE(only_inputs_that_need_gradients_get_them) {
  Variable x = leaf({1, 2}, {2});
  Variable constant(Tensor::from_vector(std::vector<double>{3, 4}, {2}));
  Variable y = sum(x * constant);
  BOOST_TEST(y.requires_grad());
  y.backward();
  BOOST_TEST(x.grad().defined());
  BOOST_TEST(!constant.grad().defined());
  BOOST_TEST(!sum(constant * constant).requires_grad());
}

BOOST_AUTO_TEST_CASE(no_grad_guard_and_detach_record_nothing) {
  Variable x = leaf({1, 2}, {2});
  {
    sf::NoGradGuard guard;
    Variable y = x * x;
    BOOST_TEST(!y.requires_grad());
    BOOST_TEST(y.is_leaf());
  }
  BOOST_TEST(sf::grad_enabled());
  Variable detached = (x * x).detach();
  BOOST_TEST(!detached.requires_grad());
  BOOST_TEST((x * x).requires_grad());
}

BOOST_AUTO_TEST_CASE(explicit_upstream_gradient) {
  Variable x = leaf({1, 2, 3}, {3});
  Variable y = x * 2.0;
  y.backward(Tensor::from_vector(std::vector<double>{1, 10, 100}, {3}));
  BOOST_TEST((x.grad().to_vector() == std::vector<double>{2, 20, 200}));
}

BOOST_AUTO_TEST_CASE(misuse_gives_clear_errors) {
  Variable x = leaf({1, 2, 3}, {3});
  check_error_message([&] { (x * x).backward(); }, "backward: output float64 [3] is not a scalar");
  Variable y = sum(exp(x));
  y.backward();
  check_error_message([&] { y.backward(); }, "was already freed by an earlier backward");
  Variable saved_input = leaf({1, 2}, {2});
  Variable product = sum(saved_input * saved_input);
  saved_input.data().fill_(5.0);  // modifies a tensor MultiplyBackward saved
  check_error_message([&] { product.backward(); }, "MultiplyBackward: a tensor [2] saved for backward was modified in place");
  check_error_message([&] { sum(x * 2.0).backward(Tensor::ones({2}, sf::DType::Float64)); },
                      "upstream gradient shape [2] differs from output shape []");
}

BOOST_AUTO_TEST_CASE(retain_graph_allows_a_second_backward) {
  Variable x = leaf({3.0}, {1});
  Variable y = sum(x * x);
  y.backward(Tensor(), true);
  y.backward();
  BOOST_TEST(x.grad().item() == 12.0);
}

BOOST_AUTO_TEST_CASE(deep_graphs_do_not_recurse) {
  Variable x = leaf({1.0}, {1});
  Variable y = x;
  for (int step = 0; step < 100000; ++step) y = y + 0.0;
  sum(y).backward();
  BOOST_TEST(x.grad().item() == 1.0);
}

BOOST_AUTO_TEST_CASE(backward_frees_every_saved_activation) {
  Variable weight(Tensor::ones({64, 64}, sf::DType::Float32), true, "weight");
  Variable input(Tensor::ones({32, 64}, sf::DType::Float32), false, "input");
  const auto before = sf::Storage::live_bytes();
  {
    Variable loss = sum(tanh(matmul(exp(input * 0.01), weight)) * 2.0);
    BOOST_TEST(sf::Storage::live_bytes() > before + 32 * 64 * 4 * 2);  // exp and tanh outputs are saved
    loss.backward();
    // Right after backward, with the loss still alive: only the weight's gradient and the
    // loss value itself remain; every saved activation was freed.
    BOOST_TEST(sf::Storage::live_bytes() - before == static_cast<std::int64_t>(64 * 64 * sizeof(float) + sizeof(float)));
  }
  // Only the gradient of the weight remains.
  BOOST_TEST(sf::Storage::live_bytes() - before == static_cast<std::int64_t>(64 * 64 * sizeof(float)));
}

// A node the user still holds (through its Variable) outlives backward, so only release_saved()
// frees what it saved: every member a node lists in saved() (SavingNode).
BOOST_AUTO_TEST_CASE(backward_frees_what_a_node_still_held_by_its_variable_saved) {
  Variable x(Tensor::ones({32, 64}, sf::DType::Float32), true, "x");
  const auto before = sf::Storage::live_bytes();
  const std::int64_t activation = 32 * 64 * sizeof(float);
  {
    Variable product = (x * 0.5) * (x * 0.25);  // its node saved both factors, which nobody else holds
    Variable loss = sum(product);
    BOOST_TEST(sf::Storage::live_bytes() - before == 3 * activation + static_cast<std::int64_t>(sizeof(float)));
    loss.backward();
    // Left: x's gradient, product and the loss; the two factors are freed although product's
    // node is alive.
    BOOST_TEST(sf::Storage::live_bytes() - before == 2 * activation + static_cast<std::int64_t>(sizeof(float)));
  }
}

BOOST_AUTO_TEST_CASE(embedding_padding_row_gets_no_gradient) {
  Variable weight(Tensor::ones({4, 2}, sf::DType::Float64), true, "weight");
  sum(sf::embedding(weight, {0, 2, 0, 3}, {4}, 0) * 3.0).backward();
  BOOST_TEST((weight.grad().to_vector() == std::vector<double>{0, 0, 0, 0, 3, 3, 3, 3}));
  weight.zero_grad();
  sum(sf::embedding(weight, {0, 2, 0, 3}, {4}) * 3.0).backward();  // no padding index: row 0 counts twice
  BOOST_TEST((weight.grad().to_vector() == std::vector<double>{6, 6, 0, 0, 3, 3, 3, 3}));
}

BOOST_AUTO_TEST_CASE(leaf_ready_hook_fires_once_with_the_final_gradient) {
  // a is used by three ops, b by one: each hook call must see the leaf's complete gradient.
  Variable a = leaf({1, 2}, {2}, "a");
  Variable b = leaf({3, 4}, {2}, "b");
  Variable y = sum(a * b + a * a + exp(a) * 0.0 + b);
  std::vector<std::pair<std::string, std::vector<double>>> calls;
  y.backward(Tensor(), false, [&](const std::shared_ptr<sf::VariableImpl>& ready) {
    calls.emplace_back(ready->name, ready->grad.to_vector());
  });
  BOOST_REQUIRE(calls.size() == 2u);
  for (const auto& [name, gradient] : calls) {
    if (name == "a") BOOST_TEST((gradient == std::vector<double>{3 + 2, 4 + 4}));  // b + 2a
    else BOOST_TEST((gradient == std::vector<double>{1 + 1, 2 + 1}));              // a + 1
  }
}

BOOST_AUTO_TEST_CASE(graph_dump_names_nodes_and_leaves) {
  Variable x = leaf({1, 2}, {2}, "x");
  Variable w = leaf({3, 4}, {2}, "w");
  const std::string dot = sf::graph_to_dot(sum(exp(x * w)));
  BOOST_TEST(dot.find("SumBackward") != std::string::npos);
  BOOST_TEST(dot.find("ExpBackward") != std::string::npos);
  BOOST_TEST(dot.find("MultiplyBackward") != std::string::npos);
  BOOST_TEST(dot.find("label=\"w\\n[2]\"") != std::string::npos);
  BOOST_TEST(dot.find("digraph autograd") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
