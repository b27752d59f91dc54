// Optimizers against hand-computed trajectories (PyTorch's update formulas in scalar double
// arithmetic), convergence on a quadratic and on XOR, decay groups, clipping, optimizer state
// round trips, and the losses of sf/nn/losses.hpp.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <functional>
#include <limits>

#include "sf/autograd/gradcheck.hpp"
#include "sf/nn/layers.hpp"
#include "sf/nn/losses.hpp"
#include "sf/nn/optimizer.hpp"
#include "test_util.hpp"

using sf::DType;
using sf::Generator;
using sf::Tensor;
using sf::Variable;
using sf::test::check_error_message;
namespace nn = sf::nn;

namespace {

// A module holding given parameters: "weight" [2, 2] (decayed) and "bias" [2] (not decayed).
class QuadraticModel : public nn::Module {
 public:
  explicit QuadraticModel(DType dtype) {
    weight = register_parameter("weight", Tensor::from_vector({0.5, -1.0, 2.0, 0.25}, {2, 2}, dtype));
    bias = register_parameter("bias", Tensor::from_vector({-0.75, 1.5}, {2}, dtype));
  }
  std::string describe() const override { return "QuadraticModel"; }
  Variable weight, bias;
};

// f(p) = Σ c (p - t)², so ∂f/∂p = 2 c (p - t); curvatures 0.5 ... 4 (condition number 8).
const std::vector<double> kWeightCurvature = {0.5, 1.0, 2.0, 4.0}, kWeightTarget = {1.0, 2.0, -1.0, 0.5};
const std::vector<double> kBiasCurvature = {1.5, 3.0}, kBiasTarget = {-2.0, 0.25};

Variable quadratic_loss(const QuadraticModel& model) {
  const DType dtype = model.weight.dtype();
  auto term = [&](const Variable& parameter, const std::vector<double>& curvature, const std::vector<double>& target) {
    const Variable c(Tensor::from_vector(curvature, parameter.shape(), dtype));
    const Variable t(Tensor::from_vector(target, parameter.shape(), dtype));
    return sum(c * pow(parameter - t, 2.0));
  };
  return term(model.weight, kWeightCurvature, kWeightTarget) + term(model.bias, kBiasCurvature, kBiasTarget);
}

void training_step(nn::Optimizer& optimizer, const QuadraticModel& model) {
  optimizer.zero_grad();
  quadratic_loss(model).backward();
  optimizer.step();
}

// One parameter of the hand computation: its values, curvature, target, decay and state.
struct HandParameter {
  std::vector<double> value, curvature, target;
  double weight_decay = 0.0;
  std::vector<double> first_moment = std::vector<double>(value.size(), 0.0);
  std::vector<double> second_moment = std::vector<double>(value.size(), 0.0);
  double gradient(std::size_t index) const { return 2.0 * curvature[index] * (value[index] - target[index]); }
};

std::vector<HandParameter> hand_parameters(double weight_decay) {
  return {{{0.5, -1.0, 2.0, 0.25}, kWeightCurvature, kWeightTarget, weight_decay},
          {{-0.75, 1.5}, kBiasCurvature, kBiasTarget, 0.0}};
}

void check_trajectory(const QuadraticModel& model, const std::vector<HandParameter>& expected, double tolerance) {
  const std::vector<double> weight = model.weight.data().to_vector(), bias = model.bias.data().to_vector();
  for (std::size_t index = 0; index < weight.size(); ++index) {
    BOOST_TEST_INFO("weight " << index << ": " << weight[index] << " vs " << expected[0].value[index]);
    BOOST_TEST(std::abs(weight[index] - expected[0].value[index]) <= tolerance);
  }
  for (std::size_t index = 0; index < bias.size(); ++index) {
    BOOST_TEST_INFO("bias " << index << ": " << bias[index] << " vs " << expected[1].value[index]);
    BOOST_TEST(std::abs(bias[index] - expected[1].value[index]) <= tolerance);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(optimizers)

BOOST_AUTO_TEST_CASE(decay_groups_exclude_biases_norms_and_embeddings) {
  struct Model : nn::Module {
    explicit Model(Generator& generator) {
      register_module("token_embedding", std::make_shared<nn::Embedding>(nn::EmbeddingOptions{10, 4}, generator));
      register_module("linear", std::make_shared<nn::Linear>(nn::LinearOptions{4, 3}, generator));
      register_module("norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions{3}));
      register_parameter("frozen", Tensor::zeros({3, 3}), false);
    }
    std::string describe() const override { return "Model"; }
  };
  Generator generator(1);
  Model model(generator);
  auto names = [](const nn::ParameterGroup& group) {
    std::vector<std::string> result;
    for (const auto& [name, parameter] : group.parameters) result.push_back(name);
    return result;
  };
  const std::vector<nn::ParameterGroup> groups = nn::decay_groups(model, 0.05);
  BOOST_REQUIRE(groups.size() == 2u);
  BOOST_TEST(groups[0].weight_decay == 0.05);
  BOOST_TEST(names(groups[0]) == std::vector<std::string>{"linear.weight"}, boost::test_tools::per_element());
  BOOST_TEST(groups[1].weight_decay == 0.0);
  BOOST_TEST(names(groups[1]) ==
                 (std::vector<std::string>{"token_embedding.weight", "linear.bias", "norm.weight", "norm.bias"}),
             boost::test_tools::per_element());
  const std::vector<nn::ParameterGroup> single = nn::single_group(model, 0.05);
  BOOST_REQUIRE(single.size() == 1u);
  BOOST_TEST(single[0].parameters.size() == 5u);  // every trainable parameter, the frozen one left out
  BOOST_TEST(single[0].weight_decay == 0.05);
}

BOOST_AUTO_TEST_CASE(adamw_matches_a_hand_computed_three_step_trajectory) {
  // torch.optim.AdamW: p ← p(1 − ηλ); m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²;
  // p ← p − η m̂ / (√v̂ + ε) with m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ). The rate changes every step.
  const double learning_rates[] = {0.1, 0.05, 0.02};
  const nn::AdamWOptions options{0.1, 0.9, 0.999, 1e-8};
  for (const auto& [dtype, tolerance] : {std::pair{DType::Float64, 1e-12}, std::pair{DType::Float32, 1e-6}}) {
    BOOST_TEST_CONTEXT(sf::dtype_name(dtype)) {
      QuadraticModel model(dtype);
      nn::AdamW optimizer(nn::decay_groups(model, 0.3), options);
      std::vector<HandParameter> hand = hand_parameters(0.3);
      for (int step = 1; step <= 3; ++step) {
        const double rate = learning_rates[step - 1];
        optimizer.set_learning_rate(rate);
        training_step(optimizer, model);
        for (HandParameter& parameter : hand)
          for (std::size_t index = 0; index < parameter.value.size(); ++index) {
            const double g = parameter.gradient(index);  // at the parameter before this step
            double& p = parameter.value[index];
            double& m = parameter.first_moment[index];
            double& v = parameter.second_moment[index];
            p *= 1.0 - rate * parameter.weight_decay;
            m = 0.9 * m + 0.1 * g;
            v = 0.999 * v + 0.001 * g * g;
            const double m_hat = m / (1.0 - std::pow(0.9, step)), v_hat = v / (1.0 - std::pow(0.999, step));
            p -= rate * m_hat / (std::sqrt(v_hat) + 1e-8);
          }
        BOOST_TEST_INFO("step " << step);
        check_trajectory(model, hand, tolerance);
      }
      BOOST_TEST(optimizer.step_count() == 3);
    }
  }
}

BOOST_AUTO_TEST_CASE(sgd_matches_hand_computed_trajectories) {
  // torch.optim.SGD: g ← g + λp; b ← g at the first step, else μb + (1 − τ)g;
  // Nesterov: g ← g + μb, else g ← b; p ← p − ηg.
  struct Case {
    const char* name;
    nn::SGDOptions options;
    double weight_decay;
  };
  for (const Case& entry :
       {Case{"plain", {0.05, 0.0, 0.0, false}, 0.0}, Case{"momentum with dampening", {0.05, 0.9, 0.25, false}, 0.0},
        Case{"nesterov with weight decay", {0.05, 0.8, 0.0, true}, 0.1}}) {
    BOOST_TEST_CONTEXT(entry.name) {
      QuadraticModel model(DType::Float64);
      nn::SGD optimizer(nn::single_group(model, entry.weight_decay), entry.options);
      std::vector<HandParameter> hand = hand_parameters(entry.weight_decay);
      hand[1].weight_decay = entry.weight_decay;  // one group: the bias decays too
      const double momentum = entry.options.momentum, dampening = entry.options.dampening;
      for (int step = 1; step <= 4; ++step) {
        training_step(optimizer, model);
        for (HandParameter& parameter : hand)
          for (std::size_t index = 0; index < parameter.value.size(); ++index) {
            double g = parameter.gradient(index) + parameter.weight_decay * parameter.value[index];
            if (momentum != 0.0) {
              double& buffer = parameter.first_moment[index];
              buffer = step == 1 ? g : momentum * buffer + (1.0 - dampening) * g;
              g = entry.options.nesterov ? g + momentum * buffer : buffer;
            }
            parameter.value[index] -= entry.options.learning_rate * g;
          }
        BOOST_TEST_INFO("step " << step);
        check_trajectory(model, hand, 1e-12);
      }
    }
  }
  check_error_message(
      [] {
        QuadraticModel model(DType::Float64);
        nn::SGD(nn::single_group(model, 0.0), {0.1, 0.0, 0.0, true});
      },
      "SGD: Nesterov momentum needs momentum > 0 and dampening 0");
}

BOOST_AUTO_TEST_CASE(every_optimizer_converges_on_a_quadratic) {
  struct Case {
    const char* name;
    std::function<std::unique_ptr<nn::Optimizer>(const QuadraticModel&)> make;
    int steps;
    double weight_decay;  // SGD's coupled decay moves the minimum to 2ct / (2c + λ)
  };
  const Case cases[] = {
      {"sgd",
       [](const QuadraticModel& m) { return std::make_unique<nn::SGD>(nn::single_group(m, 0.0), nn::SGDOptions{0.1}); },
       300, 0.0},
      {"sgd momentum",
       [](const QuadraticModel& m) {
         return std::make_unique<nn::SGD>(nn::single_group(m, 0.0), nn::SGDOptions{0.02, 0.9});
       },
       400, 0.0},
      {"sgd nesterov",
       [](const QuadraticModel& m) {
         return std::make_unique<nn::SGD>(nn::single_group(m, 0.0), nn::SGDOptions{0.02, 0.9, 0.0, true});
       },
       400, 0.0},
      {"sgd weight decay",
       [](const QuadraticModel& m) { return std::make_unique<nn::SGD>(nn::single_group(m, 0.5), nn::SGDOptions{0.1}); },
       300, 0.5},
      {"adamw",
       [](const QuadraticModel& m) {
         return std::make_unique<nn::AdamW>(nn::single_group(m, 0.0), nn::AdamWOptions{0.05});
       },
       1500, 0.0},
  };
  for (const Case& entry : cases) {
    BOOST_TEST_CONTEXT(entry.name) {
      QuadraticModel model(DType::Float64);
      std::unique_ptr<nn::Optimizer> optimizer = entry.make(model);
      for (int step = 0; step < entry.steps; ++step) training_step(*optimizer, model);
      std::vector<HandParameter> minimum = hand_parameters(0.0);
      for (HandParameter& parameter : minimum)
        for (std::size_t index = 0; index < parameter.value.size(); ++index) {
          const double c = parameter.curvature[index];
          parameter.value[index] = 2.0 * c * parameter.target[index] / (2.0 * c + entry.weight_decay);
        }
      check_trajectory(model, minimum, 1e-3);
    }
  }
}

BOOST_AUTO_TEST_CASE(sgd_and_adamw_learn_xor_with_a_tiny_mlp) {
  const Tensor inputs = Tensor::from_vector(std::vector<float>{0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const Tensor targets = Tensor::from_vector(std::vector<float>{0, 1, 1, 0}, {4, 1});
  for (const bool use_adamw : {false, true}) {
    BOOST_TEST_CONTEXT((use_adamw ? "adamw" : "sgd momentum")) {
      Generator generator(3);
      nn::MLP mlp({2, 8, 1, nn::Activation::Tanh, 0.0}, generator, std::make_shared<Generator>(4));
      std::unique_ptr<nn::Optimizer> optimizer;
      if (use_adamw)
        optimizer = std::make_unique<nn::AdamW>(nn::decay_groups(mlp, 0.01), nn::AdamWOptions{0.05});
      else
        optimizer = std::make_unique<nn::SGD>(nn::single_group(mlp, 0.0), nn::SGDOptions{0.1, 0.9});
      double first_loss = 0.0, loss = 0.0;
      for (int step = 0; step < 600; ++step) {
        optimizer->zero_grad();
        const Variable value = nn::binary_cross_entropy_with_logits(mlp(Variable(inputs)), targets);
        value.backward();
        optimizer->step();
        loss = value.item();
        if (step == 0) first_loss = loss;
      }
      BOOST_TEST_INFO("first loss " << first_loss << ", last loss " << loss);
      BOOST_TEST(first_loss > 0.5);  // near ln 2 at the start
      BOOST_TEST(loss < 0.05);
      const std::vector<double> logits = mlp(Variable(inputs)).data().to_vector();
      BOOST_TEST(logits[0] < 0.0);
      BOOST_TEST(logits[1] > 0.0);
      BOOST_TEST(logits[2] > 0.0);
      BOOST_TEST(logits[3] < 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(parameters_without_gradients_are_left_alone) {
  QuadraticModel model(DType::Float64);
  nn::AdamW optimizer(nn::decay_groups(model, 0.5), {0.1});
  model.bias.set_grad(Tensor::ones({2}, DType::Float64));  // the weight has no gradient
  const std::vector<double> weight = model.weight.data().to_vector();
  optimizer.step();
  BOOST_TEST(model.weight.data().to_vector() == weight, boost::test_tools::per_element());  // not even decayed
  BOOST_TEST(model.bias.data().at({0}) != -0.75);
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_matches_its_formula) {
  Variable a(Tensor::zeros({2}, DType::Float64), true), b(Tensor::zeros({1, 1}, DType::Float64), true);
  Variable without_gradient(Tensor::zeros({3}, DType::Float64), true);
  const std::vector<Variable> parameters{a, b, without_gradient};
  auto set_gradients = [&] {
    a.set_grad(Tensor::from_vector(std::vector<double>{3.0, -4.0}, {2}));
    b.set_grad(Tensor::from_vector(std::vector<double>{12.0}, {1, 1}));
  };
  set_gradients();
  BOOST_TEST(nn::global_grad_norm(parameters) == 13.0);     // √(9 + 16 + 144)
  BOOST_TEST(nn::clip_grad_norm(parameters, 6.5) == 13.0);  // the norm before clipping
  const double scale = 6.5 / (13.0 + 1e-6);
  BOOST_TEST(a.grad().to_vector() == (std::vector<double>{3.0 * scale, -4.0 * scale}),
             boost::test_tools::per_element());
  BOOST_TEST(b.grad().item() == 12.0 * scale);
  BOOST_TEST(!without_gradient.grad().defined());

  // At max_norm = norm the scale max_norm / (norm + 1e-6) is still below 1: PyTorch clips.
  set_gradients();
  BOOST_TEST(nn::clip_grad_norm(parameters, 13.0) == 13.0);
  BOOST_TEST(b.grad().item() == 12.0 * (13.0 / (13.0 + 1e-6)));
  BOOST_TEST(b.grad().item() < 12.0);
  // Above the norm nothing changes.
  set_gradients();
  BOOST_TEST(nn::clip_grad_norm(parameters, 13.1) == 13.0);
  BOOST_TEST(b.grad().item() == 12.0);
  // A non-finite norm is returned and the gradients are left for the caller to handle.
  b.set_grad(Tensor::from_vector(std::vector<double>{std::numeric_limits<double>::infinity()}, {1, 1}));
  BOOST_TEST(std::isinf(nn::clip_grad_norm(parameters, 1.0)));
  BOOST_TEST(a.grad().to_vector() == (std::vector<double>{3.0, -4.0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(optimizer_state_round_trips) {
  for (const bool use_adamw : {true, false}) {
    BOOST_TEST_CONTEXT((use_adamw ? "adamw" : "sgd")) {
      auto make = [&](const QuadraticModel& model) -> std::unique_ptr<nn::Optimizer> {
        if (use_adamw) return std::make_unique<nn::AdamW>(nn::decay_groups(model, 0.1), nn::AdamWOptions{0.05});
        return std::make_unique<nn::SGD>(nn::decay_groups(model, 0.1), nn::SGDOptions{0.05, 0.9});
      };
      QuadraticModel original(DType::Float64), restored(DType::Float64);
      std::unique_ptr<nn::Optimizer> first = make(original), second = make(restored);
      BOOST_TEST(first->state().size() == (use_adamw ? 4u : 0u));  // SGD buffers appear at the first step
      for (int step = 0; step < 3; ++step) training_step(*first, original);
      const sf::NamedTensors state = first->state();
      std::vector<std::string> names;
      for (const auto& [name, tensor] : state) names.push_back(name);
      const std::vector<std::string> expected =
          use_adamw ? std::vector<std::string>{"weight.exp_avg", "weight.exp_avg_sq", "bias.exp_avg", "bias.exp_avg_sq"}
                    : std::vector<std::string>{"weight.momentum_buffer", "bias.momentum_buffer"};
      BOOST_TEST(names == expected, boost::test_tools::per_element());

      restored.weight.data().copy_from(original.weight.data());
      restored.bias.data().copy_from(original.bias.data());
      second->load_state(state, first->step_count());
      BOOST_TEST(second->step_count() == 3);
      // The next step is identical only if moments, buffers and the step counter all came back.
      training_step(*first, original);
      training_step(*second, restored);
      BOOST_TEST(restored.weight.data().to_vector() == original.weight.data().to_vector(),
                 boost::test_tools::per_element());
      BOOST_TEST(restored.bias.data().to_vector() == original.bias.data().to_vector(),
                 boost::test_tools::per_element());
    }
  }
  QuadraticModel model(DType::Float64);
  nn::AdamW optimizer(nn::decay_groups(model, 0.1), {});
  sf::NamedTensors state = optimizer.state();
  state.pop_back();
  check_error_message([&] { optimizer.load_state(state, 1); },
                      "AdamW: optimizer state 'bias.exp_avg_sq' is missing from the checkpoint");
  state = optimizer.state();
  state[0].second = Tensor::zeros({4}, DType::Float64);
  check_error_message([&] { optimizer.load_state(state, 1); },
                      "AdamW: optimizer state 'weight.exp_avg' has shape [4], the parameter has [2, 2]");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- losses --------------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(losses)

BOOST_AUTO_TEST_CASE(binary_cross_entropy_with_logits_matches_its_definition) {
  const std::vector<double> z = {-30.0, -2.0, -0.5, 0.0, 0.7, 3.0, 30.0}, y = {0.0, 1.0, 0.3, 1.0, 0.0, 1.0, 0.0};
  // ℓ = −[y log σ(z) + (1 − y) log(1 − σ(z))], log σ(z) = −log1p(e^{−z}), log(1 − σ(z)) = −log1p(e^{z}).
  std::vector<double> expected;
  double total = 0.0;
  for (std::size_t index = 0; index < z.size(); ++index) {
    expected.push_back(y[index] * std::log1p(std::exp(-z[index])) + (1.0 - y[index]) * std::log1p(std::exp(z[index])));
    total += expected.back();
  }
  const Tensor targets = Tensor::from_vector(y, {7});
  const Variable logits(Tensor::from_vector(z, {7}), true);
  const std::vector<double> none =
      nn::binary_cross_entropy_with_logits(logits, targets, sf::Reduction::None).data().to_vector();
  for (std::size_t index = 0; index < z.size(); ++index) {
    BOOST_TEST_INFO("z = " << z[index]);
    BOOST_TEST(std::abs(none[index] - expected[index]) <= 1e-13 * (1.0 + expected[index]));
  }
  BOOST_TEST(std::abs(nn::binary_cross_entropy_with_logits(logits, targets, sf::Reduction::Sum).item() - total) <
             1e-12);
  const Variable mean = nn::binary_cross_entropy_with_logits(logits, targets);
  BOOST_TEST(std::abs(mean.item() - total / 7.0) < 1e-12);
  // ∂ mean / ∂z = (σ(z) − y) / n, also at z = 0, where relu(z) + log(1 + e^{−|z|}) differentiated
  // term by term (relu'(0) = sign(0) = 0) would give −y instead of 1/2 − y.
  mean.backward();
  for (std::size_t index = 0; index < z.size(); ++index)
    BOOST_TEST(std::abs(logits.grad().at({static_cast<std::int64_t>(index)}) -
                        (1.0 / (1.0 + std::exp(-z[index])) - y[index]) / 7.0) < 1e-15);
  // Stable at large |z| in float32 too: no inf, no NaN.
  const Variable wide(Tensor::from_vector(std::vector<float>{-200.0f, 200.0f}, {2}));
  const double wide_loss =
      nn::binary_cross_entropy_with_logits(wide, Tensor::from_vector(std::vector<float>{1, 0}, {2})).item();
  BOOST_TEST(std::abs(wide_loss - 200.0) < 1e-3);
  check_error_message([&] { nn::binary_cross_entropy_with_logits(logits, Tensor::zeros({6}, DType::Float64)); },
                      "binary_cross_entropy_with_logits: logits [7] and targets [6] differ in shape");
}

BOOST_AUTO_TEST_CASE(mse_loss_matches_its_definition) {
  const Variable prediction(Tensor::from_vector(std::vector<double>{1.0, -2.0, 0.5, 4.0}, {2, 2}), true);
  const Tensor targets = Tensor::from_vector(std::vector<double>{0.0, -1.0, 2.5, 4.0}, {2, 2});
  BOOST_TEST(nn::mse_loss(prediction, targets, sf::Reduction::Sum).item() == 1.0 + 1.0 + 4.0 + 0.0);
  BOOST_TEST(nn::mse_loss(prediction, targets, sf::Reduction::None).data().to_vector() ==
                 (std::vector<double>{1.0, 1.0, 4.0, 0.0}),
             boost::test_tools::per_element());
  const Variable mean = nn::mse_loss(prediction, targets);
  BOOST_TEST(mean.item() == 1.5);
  mean.backward();  // 2 (x − y) / n
  BOOST_TEST(prediction.grad().to_vector() == (std::vector<double>{0.5, -0.5, -1.0, 0.0}),
             boost::test_tools::per_element());
  check_error_message([&] { nn::mse_loss(prediction, Tensor::zeros({4}, DType::Float64)); },
                      "mse_loss: prediction [2, 2] and targets [4] differ in shape");
}

BOOST_AUTO_TEST_CASE(losses_pass_gradcheck_in_float64) {
  // Default tolerances: |analytic − numeric| <= 1e-7 + 1e-6 |numeric|, central differences with ε = 1e-6.
  Generator generator(5);
  const Tensor logits = normal({3, 4}, generator, 0.0, 2.0, DType::Float64);
  const Tensor probabilities = uniform({3, 4}, generator, 0.0, 1.0, DType::Float64);
  const Tensor targets = normal({3, 4}, generator, 0.0, 1.0, DType::Float64);
  for (const sf::Reduction reduction : {sf::Reduction::Mean, sf::Reduction::Sum, sf::Reduction::None}) {
    const sf::GradcheckResult bce = sf::gradcheck(
        [&](const std::vector<Variable>& x) {
          return nn::binary_cross_entropy_with_logits(x[0], probabilities, reduction);
        },
        {logits});
    BOOST_TEST_INFO(bce.summary());
    BOOST_TEST(bce.passed);
    BOOST_TEST(bce.checked > 0);
    const sf::GradcheckResult mse =
        sf::gradcheck([&](const std::vector<Variable>& x) { return nn::mse_loss(x[0], targets, reduction); }, {logits});
    BOOST_TEST_INFO(mse.summary());
    BOOST_TEST(mse.passed);
  }
}

BOOST_AUTO_TEST_SUITE_END()
