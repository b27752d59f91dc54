// Exact resume: 10 steps, save, load into fresh objects, 10 more steps == 20 steps straight, bit
// for bit (every loss, every parameter, the optimizer state). The model has dropout driven by a
// shared generator, AdamW with decay groups, a warmup-cosine schedule, gradient clipping, and a
// data stream drawn from its own generator; the checkpoint's metadata carries both generators'
// (seed, offset) and the schedule. Also: what loading refuses, with messages that say why.
#include <boost/test/unit_test.hpp>

#include <bit>
#include <cstring>

#include "safetensors_test_util.hpp"
#include "sf/autograd/functional.hpp"
#include "sf/nn/checkpoint.hpp"
#include "sf/nn/layers.hpp"
#include "sf/nn/lr_schedule.hpp"
#include "test_util.hpp"

using sf::Generator;
using sf::Tensor;
using sf::Variable;
using sf::test::check_error_message;
using sf::test::TemporaryDirectory;
namespace nn = sf::nn;

namespace {

constexpr std::int64_t kFeatures = 6, kClasses = 3, kBatch = 8;

struct ClassifierShape {
  std::int64_t hidden = 16;
  bool with_norm = true;
};

// LayerNorm → MLP(Linear, GELU, Dropout, Linear): parameters "norm.*", "mlp.0.*", "mlp.3.*".
class TinyClassifier : public nn::Module {
 public:
  TinyClassifier(std::uint64_t init_seed, std::shared_ptr<Generator> dropout_generator, ClassifierShape shape = {}) {
    Generator init(init_seed);
    if (shape.with_norm)
      norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions{kFeatures}));
    mlp_ = register_module(
        "mlp", std::make_shared<nn::MLP>(nn::MLPOptions{kFeatures, shape.hidden, kClasses, nn::Activation::Gelu, 0.3},
                                         init, std::move(dropout_generator)));
  }
  Variable forward(const Variable& x) { return mlp_->forward(norm_ ? norm_->forward(x) : x); }
  std::string describe() const override { return "TinyClassifier"; }

 private:
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::MLP> mlp_;
};

// Everything a training run holds. The seeds differ between runs that must not share state.
struct TrainingRun {
  explicit TrainingRun(std::uint64_t seed)
      : dropout_generator(std::make_shared<Generator>(seed + 1)),
        model(seed, dropout_generator),
        optimizer(nn::decay_groups(model, 0.05), nn::AdamWOptions{1e-2}),
        data_generator(seed + 2) {
    schedule.kind = sf::LRSchedule::Kind::WarmupCosine;
    schedule.base_learning_rate = 2e-2 + 1e-3 * static_cast<double>(seed);
    schedule.warmup_steps = 3;
    schedule.total_steps = 20;
    schedule.minimum_learning_rate = 1e-4;
  }

  void train(int steps) {
    for (int step = 0; step < steps; ++step) {
      optimizer.set_learning_rate(schedule.learning_rate(optimizer.step_count()));
      optimizer.zero_grad();
      const Variable inputs(normal({kBatch, kFeatures}, data_generator));
      std::vector<std::int64_t> targets;
      for (std::int64_t row = 0; row < kBatch; ++row)
        targets.push_back(static_cast<std::int64_t>(data_generator.next_below(kClasses)));
      const Variable loss = cross_entropy(model.forward(inputs), targets);
      loss.backward();
      nn::clip_grad_norm(model.parameters(), 0.5);
      optimizer.step();
      losses.push_back(std::bit_cast<std::uint32_t>(static_cast<float>(loss.item())));
    }
  }

  nlohmann::json metadata() const {
    return {{"dropout_generator", {{"seed", dropout_generator->seed}, {"offset", dropout_generator->offset}}},
            {"data_generator", {{"seed", data_generator.seed}, {"offset", data_generator.offset}}},
            {"lr_schedule", schedule.to_json()},
            {"step", optimizer.step_count()}};
  }

  void restore(const nlohmann::json& metadata, bool restore_dropout_generator = true) {
    if (restore_dropout_generator) {
      dropout_generator->seed = metadata.at("dropout_generator").at("seed").get<std::uint64_t>();
      dropout_generator->offset = metadata.at("dropout_generator").at("offset").get<std::uint64_t>();
    }
    data_generator = Generator(metadata.at("data_generator").at("seed").get<std::uint64_t>(),
                               metadata.at("data_generator").at("offset").get<std::uint64_t>());
    schedule = sf::LRSchedule::from_json(metadata.at("lr_schedule"));
  }

  std::shared_ptr<Generator> dropout_generator;
  TinyClassifier model;
  nn::AdamW optimizer;
  Generator data_generator;
  sf::LRSchedule schedule;
  std::vector<std::uint32_t> losses;  // the bits of each step's loss
};

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const Tensor left = a.contiguous(), right = b.contiguous();
  return std::memcmp(left.raw_data(), right.raw_data(), static_cast<std::size_t>(left.numel()) * left.element_size()) ==
         0;
}

void check_same_parameters(const nn::Module& actual, const nn::Module& expected) {
  const auto actual_parameters = actual.named_parameters(), expected_parameters = expected.named_parameters();
  BOOST_REQUIRE(actual_parameters.size() == expected_parameters.size());
  for (std::size_t index = 0; index < actual_parameters.size(); ++index) {
    BOOST_TEST_INFO(expected_parameters[index].first);
    BOOST_TEST(actual_parameters[index].first == expected_parameters[index].first);
    BOOST_TEST(same_bits(actual_parameters[index].second.data(), expected_parameters[index].second.data()));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint_resume)

BOOST_AUTO_TEST_CASE(ten_plus_ten_steps_equal_twenty_bit_for_bit) {
  TemporaryDirectory directory;
  const std::string path = directory.file("resume.safetensors");

  TrainingRun straight(1);
  straight.train(20);

  TrainingRun first_half(1);
  first_half.train(10);
  nn::save_checkpoint(path, first_half.model, &first_half.optimizer, first_half.metadata());

  // Fresh objects with other seeds: everything that matters must come from the file.
  TrainingRun resumed(50);
  const nn::LoadedCheckpoint loaded = nn::load_checkpoint(path, resumed.model, &resumed.optimizer);
  BOOST_TEST(loaded.metadata.at("step").get<std::int64_t>() == 10);
  BOOST_TEST(!loaded.metadata.contains("optimizer"));  // the optimizer's own entry is consumed
  BOOST_TEST(resumed.optimizer.step_count() == 10);
  check_same_parameters(resumed.model, first_half.model);
  resumed.restore(loaded.metadata);
  BOOST_TEST(resumed.dropout_generator->offset == first_half.dropout_generator->offset);
  BOOST_TEST(resumed.dropout_generator->offset > 0u);  // dropout did draw
  resumed.train(10);

  std::vector<std::uint32_t> joined = first_half.losses;
  joined.insert(joined.end(), resumed.losses.begin(), resumed.losses.end());
  BOOST_TEST(joined == straight.losses, boost::test_tools::per_element());
  check_same_parameters(resumed.model, straight.model);
  const sf::NamedTensors resumed_state = resumed.optimizer.state(), straight_state = straight.optimizer.state();
  BOOST_REQUIRE(resumed_state.size() == straight_state.size());
  for (std::size_t index = 0; index < straight_state.size(); ++index) {
    BOOST_TEST_INFO(straight_state[index].first);
    BOOST_TEST(resumed_state[index].first == straight_state[index].first);
    BOOST_TEST(same_bits(resumed_state[index].second, straight_state[index].second));
  }
  BOOST_TEST(resumed.optimizer.step_count() == 20);
  BOOST_TEST(resumed.dropout_generator->offset == straight.dropout_generator->offset);

  // The comparison can fail: forgetting the dropout generator's state changes the losses.
  TrainingRun forgetful(50);
  const nn::LoadedCheckpoint again = nn::load_checkpoint(path, forgetful.model, &forgetful.optimizer);
  forgetful.restore(again.metadata, /*restore_dropout_generator=*/false);
  forgetful.train(10);
  BOOST_TEST(forgetful.losses != resumed.losses);
}

BOOST_AUTO_TEST_CASE(a_model_only_file_cannot_resume_an_optimizer) {
  TemporaryDirectory directory;
  const std::string path = directory.file("weights.safetensors");
  TrainingRun run(1);
  run.train(2);
  nn::save_checkpoint(path, run.model, nullptr, {{"note", "weights only"}});

  TrainingRun fresh(7);
  check_error_message([&] { nn::load_checkpoint(path, fresh.model, &fresh.optimizer); },
                      "load_checkpoint: " + path +
                          " holds no optimizer state (it is a model-only file); cannot resume training from it");
  // Without an optimizer the same file loads: a plain state_dict.
  const nn::LoadedCheckpoint loaded = nn::load_checkpoint(path, fresh.model, nullptr);
  BOOST_TEST(loaded.metadata.at("note") == "weights only");
  check_same_parameters(fresh.model, run.model);

  // An AdamW checkpoint does not resume SGD.
  const std::string full = directory.file("full.safetensors");
  nn::save_checkpoint(full, run.model, &run.optimizer, run.metadata());
  nn::SGD sgd(nn::single_group(fresh.model, 0.0), nn::SGDOptions{0.1, 0.9});
  check_error_message([&] { nn::load_checkpoint(full, fresh.model, &sgd); },
                      "holds adamw optimizer state, but the run uses sgd");
}

BOOST_AUTO_TEST_CASE(strict_loading_reports_missing_and_unexpected_names) {
  TemporaryDirectory directory;
  const std::string path = directory.file("model.safetensors");
  auto generator = std::make_shared<Generator>(1);
  const TinyClassifier with_norm(1, generator);
  nn::save_checkpoint(path, with_norm, nullptr, nlohmann::json());

  // The file has norm.weight and norm.bias, this model has no norm: unexpected keys.
  TinyClassifier without_norm(2, generator, {16, false});
  check_error_message([&] { nn::load_checkpoint(path, without_norm, nullptr); },
                      "load_into '" + path + "': unexpected keys (2): norm.weight, norm.bias");
  const nn::LoadedCheckpoint lenient = nn::load_checkpoint(path, without_norm, nullptr, /*strict=*/false);
  BOOST_TEST(lenient.report.unexpected == (std::vector<std::string>{"norm.weight", "norm.bias"}),
             boost::test_tools::per_element());
  BOOST_TEST(lenient.report.missing.empty());
  // The names both share (mlp.*) were loaded.
  for (const auto& [name, parameter] : without_norm.named_parameters())
    for (const auto& [source_name, source] : with_norm.named_parameters())
      if (source_name == name) {
        BOOST_TEST_INFO(name);
        BOOST_TEST(same_bits(parameter.data(), source.data()));
      }

  // The other way round: the model wants norm.* and the file lacks them.
  const std::string smaller = directory.file("smaller.safetensors");
  nn::save_checkpoint(smaller, without_norm, nullptr, nlohmann::json());
  TinyClassifier wants_norm(3, generator);
  check_error_message([&] { nn::load_checkpoint(smaller, wants_norm, nullptr); },
                      "missing keys (2): norm.weight, norm.bias");
  const nn::LoadedCheckpoint partial = nn::load_checkpoint(smaller, wants_norm, nullptr, false);
  BOOST_TEST(partial.report.missing == (std::vector<std::string>{"norm.weight", "norm.bias"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_shape_mismatch_names_the_tensor_and_changes_nothing) {
  TemporaryDirectory directory;
  const std::string path = directory.file("model.safetensors");
  auto generator = std::make_shared<Generator>(1);
  nn::save_checkpoint(path, TinyClassifier(1, generator), nullptr, nlohmann::json());
  TinyClassifier narrower(2, generator, {12, true});
  const TinyClassifier untouched(2, generator, {12, true});
  check_error_message([&] { nn::load_checkpoint(path, narrower, nullptr); },
                      "shape mismatch for 'mlp.0.weight': checkpoint [16, 6] vs destination [12, 6], "
                      "'mlp.0.bias': checkpoint [16] vs destination [12], 'mlp.3.weight': checkpoint [3, 16] vs "
                      "destination [3, 12]");
  // Not even the tensors whose shapes agree (norm.*, mlp.3.bias) were copied.
  check_same_parameters(narrower, untouched);
  check_error_message([&] { nn::load_checkpoint(path, narrower, nullptr, /*strict=*/false); },
                      "shape mismatch for 'mlp.0.weight'");
}

BOOST_AUTO_TEST_SUITE_END()
