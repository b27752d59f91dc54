// bf16 training (precision = bf16): one training step of both variants with every matrix product
// in bfloat16 against the same step in float32 - the loss and the gradient agree within what
// 8-bit mantissas allow, yet differ (the products did go through bfloat16); the same bits on 1 and
// 2 threads; float64 products are never rounded; the config accepts bf16 and auto.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "sf/core/kernels/gemm_bf16.hpp"
#include "sf/core/matmul.hpp"
#include "sf/core/parallel.hpp"
#include "sf/swarmformer/model.hpp"
#include "sf/swarmformer/training_config.hpp"
#include "sf/swarmformer/training_step.hpp"
#include "test_util.hpp"

namespace {

struct StepResult {
  double loss = 0.0;
  std::vector<double> gradient;  // every parameter's gradient, concatenated
};

sf::Batch random_batch(const sf::SwarmFormerConfig& config, std::int64_t count) {
  std::mt19937 generator(5);
  std::uniform_int_distribution<std::int64_t> token(5, config.vocab_size - 1);
  sf::Batch batch;
  batch.count = count;
  for (std::int64_t index = 0; index < count * config.seq_len; ++index) batch.ids.push_back(token(generator));
  for (std::int64_t row = 0; row < count; ++row) batch.labels.push_back(row % 2);
  return batch;
}

StepResult one_step(const std::string& preset, sf::compute::MatmulPrecision precision) {
  sf::ResolvedConfig resolved = sf::resolve_config(
      preset, {"d_model=32", "seq_len=64", "vocab_size=200", "local_heads=2", "cluster_heads=2", "feedback_hidden=16"});
  resolved.model.embedding_dropout = resolved.model.local_dropout = resolved.model.attention_dropout = 0.0;
  resolved.model.attention_output_dropout = resolved.model.broadcast_dropout = resolved.model.classifier_dropout = 0.0;
  sf::SwarmFormer model(resolved.model, 7);
  model.train();
  const sf::compute::MatmulPrecisionGuard guard(precision);
  const sf::StepOutcome outcome = sf::forward_backward(model, random_batch(resolved.model, 6), 6, 0.0);
  StepResult result{outcome.loss_sum / 6.0, {}};
  for (const sf::Variable& parameter : model.parameters())
    for (double value : parameter.grad().to_vector()) result.gradient.push_back(value);
  return result;
}

double norm(const std::vector<double>& values) {
  double total = 0.0;
  for (double value : values) total += value * value;
  return std::sqrt(total);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bfloat16_training)

BOOST_AUTO_TEST_CASE(a_bf16_step_follows_the_fp32_step) {
  for (const char* preset : {"original-small", "enhanced-small"}) {
    BOOST_TEST_INFO(preset);
    const StepResult fp32 = one_step(preset, sf::compute::MatmulPrecision::Float32);
    const StepResult bf16 = one_step(preset, sf::compute::MatmulPrecision::Bfloat16);
    BOOST_TEST(std::abs(bf16.loss - fp32.loss) <= 2e-2 * std::abs(fp32.loss));
    BOOST_TEST(bf16.loss != fp32.loss);  // the products were rounded
    std::vector<double> difference(fp32.gradient.size());
    for (std::size_t index = 0; index < difference.size(); ++index)
      difference[index] = bf16.gradient[index] - fp32.gradient[index];
    BOOST_TEST(norm(difference) <= 5e-2 * norm(fp32.gradient));  // bfloat16 keeps 8 significant bits
    BOOST_TEST(norm(difference) > 0.0);
  }
}

BOOST_AUTO_TEST_CASE(a_bf16_step_has_the_same_bits_on_one_and_two_threads) {
  StepResult one, two;
  {
    sf::parallel::ThreadCountGuard threads(1);
    one = one_step("enhanced-small", sf::compute::MatmulPrecision::Bfloat16);
  }
  {
    sf::parallel::ThreadCountGuard threads(2);
    two = one_step("enhanced-small", sf::compute::MatmulPrecision::Bfloat16);
  }
  BOOST_TEST(one.loss == two.loss);
  BOOST_TEST(std::memcmp(one.gradient.data(), two.gradient.data(), one.gradient.size() * sizeof(double)) == 0);
}

BOOST_AUTO_TEST_CASE(float64_products_are_never_rounded) {
  const sf::Tensor a = sf::Tensor::full({3, 5}, 1.0 + 1e-9, sf::DType::Float64);
  const sf::Tensor b = sf::Tensor::full({5, 2}, 1.0, sf::DType::Float64);
  const sf::compute::MatmulPrecisionGuard guard(sf::compute::MatmulPrecision::Bfloat16);
  for (double value : sf::compute::matmul(a, b).to_vector()) BOOST_TEST(value == 5.0 * (1.0 + 1e-9));
  // float32 ones are: 1 + 2^-10 has no bfloat16 (1 + 2^-7 is the next one up from 1).
  const sf::Tensor c = sf::Tensor::full({3, 5}, 1.0 + 1.0 / 1024.0, sf::DType::Float32);
  const sf::Tensor d = sf::Tensor::full({5, 2}, 1.0, sf::DType::Float32);
  for (double value : sf::compute::matmul(c, d).to_vector()) BOOST_TEST(value == 5.0);
}

BOOST_AUTO_TEST_CASE(the_config_takes_bf16_and_auto) {
  BOOST_TEST(sf::uses_bfloat16(sf::resolve_config("enhanced-small", {"precision=bf16"}).training));
  BOOST_TEST(!sf::uses_bfloat16(sf::resolve_config("enhanced-small", {"precision=fp32"}).training));
  BOOST_TEST(sf::uses_bfloat16(sf::resolve_config("enhanced-small", {"precision=auto"}).training) ==
             sf::kernels::bfloat16_path_available(sf::kernels::Bfloat16Path::Avx512Bf16));
  sf::test::check_error_message([] { (void)sf::resolve_config("enhanced-small", {"precision=fp16"}); },
                                "precision must be \"fp32\", \"fp64\", \"bf16\" or \"auto\", got \"fp16\"");
}

BOOST_AUTO_TEST_SUITE_END()
