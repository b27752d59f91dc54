// Framing a text into rows (truncation head / tail / head_tail, evaluation windows) and the
// window-averaged evaluation.
#include <boost/test/unit_test.hpp>

#include <numeric>

#include "sf/core/compute.hpp"
#include "sf/swarmformer/evaluation.hpp"
#include "sf/swarmformer/token_cache.hpp"
#include "sf/swarmformer/tokenizer.hpp"
#include "test_util.hpp"
#include "swarmformer/text_test_util.hpp"

namespace {

// Tokens "t0".."t29" have ids 4..33, so a text "t0 t1 ... t(n-1)" has piece ids 4 .. n+3.
sf::WordPieceTokenizer counting_tokenizer() {
  std::vector<std::string> tokens{"[PAD]", "[UNK]", "[CLS]", "[SEP]"};
  for (int index = 0; index < 30; ++index) tokens.push_back(fmt::format("t{}", index));
  return sf::WordPieceTokenizer::from_tokens(tokens);
}

std::string counting_text(int pieces) {
  std::string text;
  for (int index = 0; index < pieces; ++index) text += fmt::format("t{} ", index);
  return text;
}

// Row ids as a vector: [CLS]=2, [SEP]=3, [PAD]=0, piece k = k + 4.
std::vector<std::int32_t> row(std::initializer_list<int> pieces, std::int64_t seq_len) {
  std::vector<std::int32_t> ids{2};
  for (int piece : pieces) ids.push_back(piece + 4);
  ids.push_back(3);
  ids.resize(static_cast<std::size_t>(seq_len), 0);
  return ids;
}

std::vector<std::int32_t> frame(const sf::WordPieceTokenizer& tokenizer, int pieces, std::int64_t seq_len,
                                const sf::Framing& framing, std::int64_t expected_rows) {
  std::vector<std::int32_t> output;
  BOOST_TEST(tokenizer.frame(counting_text(pieces), seq_len, framing, output) == expected_rows);
  BOOST_TEST(output.size() == static_cast<std::size_t>(expected_rows * seq_len));
  return output;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(input_framing)

BOOST_AUTO_TEST_CASE(truncation_modes) {
  const auto tokenizer = counting_tokenizer();
  // 10 pieces into seq_len 8 (room for 6).
  BOOST_TEST(frame(tokenizer, 10, 8, {.truncation = "head"}, 1) == row({0, 1, 2, 3, 4, 5}, 8), boost::test_tools::per_element());
  BOOST_TEST(frame(tokenizer, 10, 8, {.truncation = "tail"}, 1) == row({4, 5, 6, 7, 8, 9}, 8), boost::test_tools::per_element());
  // head_tail with the default head seq_len / 2 = 4, so 2 from the end.
  BOOST_TEST(frame(tokenizer, 10, 8, {.truncation = "head_tail"}, 1) == row({0, 1, 2, 3, 8, 9}, 8),
             boost::test_tools::per_element());
  BOOST_TEST(frame(tokenizer, 10, 8, {.truncation = "head_tail", .head = 1}, 1) == row({0, 5, 6, 7, 8, 9}, 8),
             boost::test_tools::per_element());
  // A text that fits is the same under every mode, padded.
  for (const char* mode : {"head", "tail", "head_tail"})
    BOOST_TEST(frame(tokenizer, 3, 8, {.truncation = mode}, 1) == row({0, 1, 2}, 8), boost::test_tools::per_element());
  // The head fast path equals encode(text, seq_len).
  const std::vector<std::int32_t> encoded = tokenizer.encode(counting_text(10), 8);
  BOOST_TEST(frame(tokenizer, 10, 8, {}, 1) == encoded, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(evaluation_windows_cover_the_text) {
  const auto tokenizer = counting_tokenizer();
  // 20 pieces, room 6: ceil(20 / 6) = 4 windows fit, starts round(j * 14 / 3) = 0, 5, 9, 14.
  std::vector<std::int32_t> expected;
  for (int start : {0, 5, 9, 14}) {
    const auto window = row({start, start + 1, start + 2, start + 3, start + 4, start + 5}, 8);
    expected.insert(expected.end(), window.begin(), window.end());
  }
  BOOST_TEST(frame(tokenizer, 20, 8, {.windows = 8}, 4) == expected, boost::test_tools::per_element());
  // Capped at 2 windows: the first and the last W pieces.
  std::vector<std::int32_t> two = row({0, 1, 2, 3, 4, 5}, 8);
  const auto last = row({14, 15, 16, 17, 18, 19}, 8);
  two.insert(two.end(), last.begin(), last.end());
  BOOST_TEST(frame(tokenizer, 20, 8, {.windows = 2}, 2) == two, boost::test_tools::per_element());
  // A short text stays one row.
  BOOST_TEST(frame(tokenizer, 4, 8, {.windows = 8}, 1) == row({0, 1, 2, 3}, 8), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(split_row_offsets_and_cache_keys) {
  const auto tokenizer = counting_tokenizer();
  sf::TextDataset dataset;
  dataset.class_names = {"a", "b"};
  for (int pieces : {3, 20, 7, 13}) {
    dataset.texts.push_back(counting_text(pieces));
    dataset.labels.push_back(pieces % 2);
  }
  const sf::TokenizedSplit split = sf::tokenize_dataset(dataset, tokenizer, 8, {.windows = 3});
  BOOST_TEST((split.row_offsets == std::vector<std::int64_t>{0, 1, 4, 6, 9}), boost::test_tools::per_element());
  BOOST_TEST(split.rows() == 9);
  sf::test::TemporaryDirectory directory;
  sf::CacheOutcome outcome{};
  const sf::TokenizedSplit cached = sf::tokenize_cached(dataset, tokenizer, 8, directory.path().string(), &outcome, {.windows = 3});
  BOOST_TEST((outcome == sf::CacheOutcome::created));
  const sf::TokenizedSplit again = sf::tokenize_cached(dataset, tokenizer, 8, directory.path().string(), &outcome, {.windows = 3});
  BOOST_TEST((outcome == sf::CacheOutcome::loaded));
  BOOST_TEST(again.ids == split.ids, boost::test_tools::per_element());
  BOOST_TEST(again.row_offsets == split.row_offsets, boost::test_tools::per_element());
  // Another framing is another cache entry, never the windows of the first.
  const sf::TokenizedSplit single = sf::tokenize_cached(dataset, tokenizer, 8, directory.path().string(), &outcome);
  BOOST_TEST((outcome == sf::CacheOutcome::created));
  BOOST_TEST(single.rows() == 4);
}

BOOST_AUTO_TEST_CASE(window_logits_are_averaged_per_example) {
  sf::SwarmFormerConfig config;
  config.variant = "enhanced";
  config.vocab_size = 34;
  config.d_model = 16;
  config.seq_len = 8;
  config.cluster_size = 2;
  config.local_window = 2;
  config.local_heads = 2;
  config.cluster_heads = 2;
  config.feedback_hidden = 8;
  sf::SwarmFormer model(config, 5);
  model.eval();
  const auto tokenizer = counting_tokenizer();
  sf::TextDataset dataset;
  dataset.class_names = {"a", "b"};
  for (int pieces : {20, 3}) {
    dataset.texts.push_back(counting_text(pieces));
    dataset.labels.push_back(0);
  }
  const sf::TokenizedSplit split = sf::tokenize_dataset(dataset, tokenizer, 8, {.windows = 4});
  const sf::Tensor averaged = sf::example_logits(model, split, 0, 2);
  std::vector<std::int64_t> ids(split.ids.begin(), split.ids.end());
  const std::vector<double> rows = model.forward(ids, split.rows()).data().to_vector();
  const std::vector<double> result = averaged.to_vector();
  for (int label = 0; label < 2; ++label) {
    const double mean = (rows[0 + label] + rows[2 + label] + rows[4 + label] + rows[6 + label]) / 4.0;
    BOOST_TEST(result[label] == mean, boost::test_tools::tolerance(1e-5));
    BOOST_TEST(result[2 + label] == rows[8 + label], boost::test_tools::tolerance(1e-6));
  }
}

BOOST_AUTO_TEST_CASE(config_rejects_bad_input_fields) {
  sf::SwarmFormerConfig config;
  config.truncation = "middle";
  sf::test::check_error_message([&] { config.validate(); }, "truncation must be");
  config.truncation = "head_tail";
  config.truncation_head = config.seq_len;
  sf::test::check_error_message([&] { config.validate(); }, "truncation_head");
  config.truncation_head = 0;
  config.eval_windows = 0;
  sf::test::check_error_message([&] { config.validate(); }, "eval_windows");
}

BOOST_AUTO_TEST_SUITE_END()
