// Masked language modelling: the masking statistics and determinism, and the gathered, tied head
// (only chosen positions count; its gradient reaches the embedding through the decoder).
#include <boost/test/unit_test.hpp>

#include <set>

#include "sf/autograd/functional.hpp"
#include "sf/autograd/gradcheck.hpp"
#include "sf/swarmformer/masked_lm.hpp"
#include "sf/swarmformer/model.hpp"
#include "test_util.hpp"

using sf::Variable;

namespace {

// Rows of real ids in [1000, 1999] framed as [CLS] … [SEP] [PAD]…, with some [UNK] inside.
std::vector<std::int64_t> framed_rows(std::int64_t rows, std::int64_t length, std::uint64_t seed) {
  sf::Generator generator(seed);
  std::vector<std::int64_t> ids;
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int64_t real = 2 + static_cast<std::int64_t>(generator.next_below(static_cast<std::uint64_t>(length - 2)));
    ids.push_back(101);
    for (std::int64_t position = 1; position < length; ++position)
      ids.push_back(position < real ? (position % 17 == 0 ? 100 : 1000 + static_cast<std::int64_t>(generator.next_below(1000)))
                    : position == real ? 102 : 0);
  }
  return ids;
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t count) {
  std::vector<std::int64_t> values(static_cast<std::size_t>(count));
  for (std::int64_t index = 0; index < count; ++index) values[static_cast<std::size_t>(index)] = first + index;
  return values;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(masked_language_model)

BOOST_AUTO_TEST_CASE(masking_rates_and_never_special_tokens) {
  const std::int64_t rows = 400, length = 128;
  const std::vector<std::int64_t> ids = framed_rows(rows, length, 1);
  const sf::SpecialTokens special;
  const sf::MaskedBatch batch = sf::mask_tokens(ids, length, range(0, rows), {}, special, 42, 0);
  std::int64_t candidates = 0;
  for (std::int64_t id : ids) candidates += special.is_special(id) ? 0 : 1;
  std::int64_t to_mask = 0, to_random = 0, kept = 0;
  for (std::size_t index = 0; index < batch.positions.size(); ++index) {
    const auto position = static_cast<std::size_t>(batch.positions[index]);
    BOOST_TEST(!special.is_special(ids[position]));  // never [PAD], [CLS], [SEP], [UNK], [MASK]
    BOOST_TEST(batch.targets[index] == ids[position]);
    if (batch.ids[position] == special.mask) ++to_mask;
    else if (batch.ids[position] == ids[position]) ++kept;
    else {
      ++to_random;
      BOOST_TEST(!special.is_special(batch.ids[position]));
    }
  }
  const auto chosen = static_cast<double>(batch.positions.size());
  BOOST_TEST_MESSAGE("chosen " << chosen << " of " << candidates);
  BOOST_TEST(std::abs(chosen / static_cast<double>(candidates) - 0.15) < 0.01);
  BOOST_TEST(std::abs(to_mask / chosen - 0.8) < 0.02);
  BOOST_TEST(std::abs(to_random / chosen - 0.1) < 0.02);
  BOOST_TEST(std::abs(kept / chosen - 0.1) < 0.02);
  // Nothing outside the chosen positions changed.
  std::set<std::int64_t> chosen_positions(batch.positions.begin(), batch.positions.end());
  for (std::size_t position = 0; position < ids.size(); ++position)
    if (!chosen_positions.count(static_cast<std::int64_t>(position))) BOOST_TEST(batch.ids[position] == ids[position]);
}

BOOST_AUTO_TEST_CASE(the_mask_depends_only_on_seed_epoch_example_and_position) {
  const std::int64_t rows = 6, length = 32;
  const std::vector<std::int64_t> ids = framed_rows(rows, length, 2);
  const std::vector<std::int64_t> examples{40, 41, 7, 8, 1000, 3};
  const sf::MaskedBatch whole = sf::mask_tokens(ids, length, examples, {}, {}, 9, 2);
  BOOST_TEST(sf::mask_tokens(ids, length, examples, {}, {}, 9, 2).ids == whole.ids, boost::test_tools::per_element());
  // Each row alone (another batch, another rank) is masked exactly as inside the batch.
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::vector<std::int64_t> alone(ids.begin() + row * length, ids.begin() + (row + 1) * length);
    const sf::MaskedBatch single = sf::mask_tokens(alone, length, {examples[static_cast<std::size_t>(row)]}, {}, {}, 9, 2);
    BOOST_TEST(std::equal(single.ids.begin(), single.ids.end(), whole.ids.begin() + row * length));
  }
  // A new epoch, or a new seed, is a new mask.
  BOOST_TEST(sf::mask_tokens(ids, length, examples, {}, {}, 9, 3).positions != whole.positions);
  BOOST_TEST(sf::mask_tokens(ids, length, examples, {}, {}, 10, 2).positions != whole.positions);
  sf::test::check_error_message([&] { sf::mask_tokens(ids, length + 1, examples, {}, {}, 9, 2); }, "do not form");
}

BOOST_AUTO_TEST_CASE(only_chosen_positions_reach_the_head_and_the_decoder_is_tied) {
  sf::Generator init(3);
  sf::MaskedLanguageModelHead head(8, 50, init);
  sf::nn::Embedding embedding(sf::nn::EmbeddingOptions{50, 8}, init);
  const Variable states(sf::normal({2, 5, 8}, init), /*requires_grad=*/true);
  const std::vector<std::int64_t> positions{1, 7}, targets{4, 9};
  const Variable logits = head.forward(states, positions, embedding.weight);
  BOOST_TEST((logits.shape() == sf::Shape{2, 50}));
  sf::cross_entropy(logits, targets).backward();
  // The states' gradient is zero except at rows 1 and 7 (b × L + j): the loss counts only them.
  const std::vector<double> gradient = states.grad().to_vector();
  for (std::int64_t row = 0; row < 10; ++row) {
    double size = 0.0;
    for (std::int64_t column = 0; column < 8; ++column) size += std::abs(gradient[static_cast<std::size_t>(row * 8 + column)]);
    BOOST_TEST_INFO("row " << row);
    BOOST_TEST((row == 1 || row == 7 ? size > 0.0 : size == 0.0));
  }
  // The decoder is the embedding table: every one of its rows gets a gradient through the softmax.
  const std::vector<double> table_gradient = embedding.weight.grad().to_vector();
  for (std::int64_t id = 0; id < 50; id += 7) {
    double size = 0.0;
    for (std::int64_t column = 0; column < 8; ++column) size += std::abs(table_gradient[static_cast<std::size_t>(id * 8 + column)]);
    BOOST_TEST(size > 0.0);
  }
  BOOST_TEST(head.parameter_count() == 8 * 8 + 8 + 2 * 8 + 50);  // no decoder matrix of its own
}

BOOST_AUTO_TEST_CASE(gathered_tied_head_gradcheck) {
  sf::Generator init(4);
  sf::MaskedLanguageModelHead head(6, 11, init);
  head.to(sf::DType::Float64);
  sf::nn::Embedding embedding(sf::nn::EmbeddingOptions{11, 6}, init);
  embedding.to(sf::DType::Float64);
  const Variable states(sf::normal({2, 4, 6}, init).to(sf::DType::Float64), /*requires_grad=*/true);
  std::vector<Variable> parameters = head.parameters();
  parameters.push_back(embedding.weight);
  parameters.push_back(states);
  const std::vector<std::int64_t> input_ids{3, 5, 5, 0, 7, 1, 2, 9};  // the embedding is used twice: lookup and decoder
  const sf::GradcheckResult result = sf::gradcheck_parameters(
      [&] {
        const Variable encoded = states + reshape(embedding.forward(input_ids, {2, 4}), {2, 4, 6});
        return sf::cross_entropy(head.forward(encoded, {0, 2, 5}, embedding.weight), {5, 10, 2});
      },
      parameters);
  BOOST_TEST_INFO(result.summary());
  BOOST_TEST(result.passed);
  BOOST_TEST(result.checked > 100);
}

BOOST_AUTO_TEST_CASE(encode_feeds_the_classifier) {
  sf::SwarmFormerConfig config;
  config.variant = "enhanced";
  config.vocab_size = 60;
  config.d_model = 16;
  config.seq_len = 16;
  config.cluster_size = 4;
  config.local_window = 2;
  config.local_heads = 2;
  config.cluster_heads = 2;
  config.feedback_hidden = 8;
  sf::SwarmFormer model(config, 5);
  model.eval();
  std::vector<std::int64_t> ids(32, 0);
  for (std::int64_t index = 0; index < 20; ++index) ids[static_cast<std::size_t>(index)] = 1 + index;
  const sf::SwarmFormer::Encoded encoded = model.encode(ids, 2);
  BOOST_TEST((encoded.states.shape() == sf::Shape{2, 16, 16}));
  BOOST_TEST(encoded.keep.to_vector()[19] == 1.0);
  BOOST_TEST(encoded.keep.to_vector()[20] == 0.0);
  BOOST_TEST((model.token_embedding_weight().shape() == sf::Shape{60, 16}));
}

BOOST_AUTO_TEST_SUITE_END()
