// The stratified validation split, the per-epoch shuffle, the tokenized cache, and the real IMDB
// files when they are present.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "sf/core/parallel.hpp"
#include "sf/swarmformer/dataset.hpp"
#include "sf/swarmformer/token_cache.hpp"
#include "swarmformer/text_test_util.hpp"
#include "test_util.hpp"

namespace {

using sf::test::TemporaryDirectory;
namespace fs = std::filesystem;

// 3 classes of 50, 30 and 7 rows, interleaved.
sf::TextDataset toy_dataset() {
  sf::TextDataset dataset;
  dataset.class_names = {"a", "b", "c"};
  for (int row = 0; row < 87; ++row) {
    const int label = row < 50 ? 0 : row < 80 ? 1 : 2;
    dataset.texts.push_back(fmt::format("text {} of class {}", row, label));
    dataset.labels.push_back(label);
  }
  std::vector<std::size_t> order(87);
  std::iota(order.begin(), order.end(), 0);
  std::rotate(order.begin(), order.begin() + 40, order.end());  // mix the classes a little
  sf::TextDataset mixed{{}, {}, dataset.class_names};
  for (const std::size_t row : order) {
    mixed.texts.push_back(dataset.texts[row]);
    mixed.labels.push_back(dataset.labels[row]);
  }
  return mixed;
}

std::map<std::int32_t, int> class_counts(const sf::TextDataset& dataset) {
  std::map<std::int32_t, int> counts;
  for (const std::int32_t label : dataset.labels) ++counts[label];
  return counts;
}

sf::WordPieceTokenizer toy_tokenizer() {
  return sf::WordPieceTokenizer::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "text", "of", "class", "1", "2", "3",
                                              "##0", "##1", "##2", "##3", "##4", "##5", "##6", "##7", "##8", "##9",
                                              "0", "4", "5", "6", "7", "8", "9", "a", "b", "c"});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dataset_splits)

BOOST_AUTO_TEST_CASE(stratified_split_proportions_and_determinism) {
  const sf::TextDataset dataset = toy_dataset();
  const auto [train, validation] = sf::split_stratified(dataset, 0.2, 7);
  // round(0.2 × 50) = 10, round(0.2 × 30) = 6, round(0.2 × 7) = 1.
  BOOST_TEST((class_counts(validation) == std::map<std::int32_t, int>{{0, 10}, {1, 6}, {2, 1}}));
  BOOST_TEST((class_counts(train) == std::map<std::int32_t, int>{{0, 40}, {1, 24}, {2, 6}}));
  BOOST_TEST(train.class_names == dataset.class_names, boost::test_tools::per_element());
  BOOST_TEST(validation.class_names == dataset.class_names, boost::test_tools::per_element());
  // A partition of the rows, each keeping its label and the dataset's order.
  std::multiset<std::string> all(train.texts.begin(), train.texts.end());
  all.insert(validation.texts.begin(), validation.texts.end());
  BOOST_TEST((all == std::multiset<std::string>(dataset.texts.begin(), dataset.texts.end())));
  const auto position = [&](const std::string& text) { return std::find(dataset.texts.begin(), dataset.texts.end(), text) - dataset.texts.begin(); };
  for (const sf::TextDataset* part : {&train, &validation})
    for (std::size_t row = 0; row < part->texts.size(); ++row) {
      BOOST_TEST(part->labels[row] == dataset.labels[static_cast<std::size_t>(position(part->texts[row]))]);
      if (row > 0) BOOST_TEST(position(part->texts[row - 1]) < position(part->texts[row]));
    }
  // Same seed, same split; another seed, another split.
  BOOST_TEST(sf::split_stratified(dataset, 0.2, 7).second.texts == validation.texts, boost::test_tools::per_element());
  BOOST_TEST((sf::split_stratified(dataset, 0.2, 8).second.texts != validation.texts));
  BOOST_TEST(sf::split_stratified(dataset, 0.0, 7).first.size() == dataset.size());
  sf::test::check_error_message([&] { sf::split_stratified(dataset, 1.0, 7); }, "fraction must be in [0, 1)");
}

BOOST_AUTO_TEST_CASE(stratified_split_draws_rows_uniformly) {
  // Each of 10 rows of one class should land in a 1-row validation split about 1/10 of the time;
  // a biased draw (always the first or last row) fails this.
  sf::TextDataset dataset{{}, {}, {"only"}};
  for (int row = 0; row < 10; ++row) {
    dataset.texts.push_back(std::to_string(row));
    dataset.labels.push_back(0);
  }
  std::map<std::string, int> chosen;
  for (std::uint64_t seed = 0; seed < 2000; ++seed) ++chosen[sf::split_stratified(dataset, 0.1, seed).second.texts.at(0)];
  BOOST_TEST(chosen.size() == 10u);
  for (const auto& [text, count] : chosen) BOOST_TEST_CONTEXT("row " << text) { BOOST_TEST((count > 140 && count < 260)); }
}

BOOST_AUTO_TEST_CASE(epoch_permutations) {
  const std::vector<std::int64_t> first = sf::epoch_permutation(1000, 42, 0);
  std::vector<std::int64_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), 0);
  BOOST_TEST(sorted == identity, boost::test_tools::per_element());
  BOOST_TEST((first != identity));
  BOOST_TEST(sf::epoch_permutation(1000, 42, 0) == first, boost::test_tools::per_element());
  BOOST_TEST((sf::epoch_permutation(1000, 42, 1) != first));
  BOOST_TEST((sf::epoch_permutation(1000, 43, 0) != first));
  BOOST_TEST(sf::epoch_permutation(0, 42, 0).empty());
  BOOST_TEST(sf::epoch_permutation(1, 42, 5) == (std::vector<std::int64_t>{0}), boost::test_tools::per_element());
  // All 6 orders of 3 items, each about 1/6 of 12,000 epochs (2,000 ± 41). The textbook
  // off-by-one in Fisher-Yates, j in [0, n) instead of [0, i], gives some orders 4/27 and others
  // 5/27 of the draws (1,778 or 2,222), outside these bounds.
  std::map<std::vector<std::int64_t>, int> orders;
  for (std::int64_t epoch = 0; epoch < 12000; ++epoch) ++orders[sf::epoch_permutation(3, 9, epoch)];
  BOOST_TEST(orders.size() == 6u);
  for (const auto& [order, count] : orders) BOOST_TEST((count > 1840 && count < 2160));
  sf::test::check_error_message([] { sf::epoch_permutation(-1, 0, 0); }, "count must be non-negative");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(token_cache)

BOOST_AUTO_TEST_CASE(tokenize_dataset_is_thread_count_independent) {
  const sf::TextDataset dataset = toy_dataset();
  const sf::WordPieceTokenizer tokenizer = toy_tokenizer();
  sf::TokenizedSplit one, two;
  {
    sf::parallel::ThreadCountGuard guard(1);
    one = sf::tokenize_dataset(dataset, tokenizer, 8);
  }
  {
    sf::parallel::ThreadCountGuard guard(2);
    two = sf::tokenize_dataset(dataset, tokenizer, 8);
  }
  BOOST_TEST(one.ids == two.ids, boost::test_tools::per_element());
  BOOST_TEST(one.ids.size() == 87u * 8u);
  BOOST_TEST(one.labels == dataset.labels, boost::test_tools::per_element());
  // Row r is exactly encode(text r).
  for (std::size_t row = 0; row < 87; row += 13) {
    const std::vector<std::int32_t> expected = tokenizer.encode(dataset.texts[row], 8);
    BOOST_TEST(std::equal(expected.begin(), expected.end(), one.ids.begin() + static_cast<std::ptrdiff_t>(row * 8)));
  }
}

BOOST_AUTO_TEST_CASE(cache_hit_miss_and_corruption) {
  TemporaryDirectory directory;
  const std::string cache_dir = (directory / "cache").string();
  const sf::TextDataset dataset = toy_dataset();
  const sf::WordPieceTokenizer tokenizer = toy_tokenizer();
  const sf::TokenizedSplit expected = sf::tokenize_dataset(dataset, tokenizer, 8);
  const auto check_same = [&](const sf::TokenizedSplit& split) {
    BOOST_TEST(split.seq_len == 8);
    BOOST_TEST(split.ids == expected.ids, boost::test_tools::per_element());
    BOOST_TEST(split.labels == expected.labels, boost::test_tools::per_element());
    BOOST_TEST(split.class_names == expected.class_names, boost::test_tools::per_element());
  };
  sf::CacheOutcome outcome{};
  check_same(sf::tokenize_cached(dataset, tokenizer, 8, cache_dir, &outcome));
  BOOST_TEST((outcome == sf::CacheOutcome::created));
  const std::string path = sf::token_cache_path(cache_dir, tokenizer.vocabulary_hash(), 8, sf::dataset_hash(dataset));
  BOOST_REQUIRE(fs::exists(path));
  BOOST_TEST(std::distance(fs::directory_iterator(cache_dir), fs::directory_iterator()) == 1);  // no temp files left
  check_same(sf::tokenize_cached(dataset, tokenizer, 8, cache_dir, &outcome));
  BOOST_TEST((outcome == sf::CacheOutcome::loaded));

  // A flipped payload byte, a cut file, a foreign file under the right name: rebuilt, not used.
  const std::string good = sf::test::read_bytes(path);
  std::string flipped = good;
  flipped[good.size() - 5] = static_cast<char>(flipped[good.size() - 5] ^ 1);
  for (const std::string& damaged : {flipped, good.substr(0, good.size() - 4), good.substr(0, 40), std::string(100, 'g')}) {
    sf::test::write_file(path, damaged);
    check_same(sf::tokenize_cached(dataset, tokenizer, 8, cache_dir, &outcome));
    BOOST_TEST((outcome == sf::CacheOutcome::rebuilt));
    BOOST_TEST(sf::test::read_bytes(path) == good);
  }
  // A cache made for other keys, renamed to this name, is stale.
  const std::string other_path = sf::token_cache_path(cache_dir, tokenizer.vocabulary_hash(), 6, sf::dataset_hash(dataset));
  sf::tokenize_cached(dataset, tokenizer, 6, cache_dir, &outcome);
  BOOST_TEST((outcome == sf::CacheOutcome::created));
  fs::copy_file(other_path, path, fs::copy_options::overwrite_existing);
  check_same(sf::tokenize_cached(dataset, tokenizer, 8, cache_dir, &outcome));
  BOOST_TEST((outcome == sf::CacheOutcome::rebuilt));

  // Keys: the texts, the labels and the vocabulary all change the file.
  sf::TextDataset edited = dataset;
  edited.texts[3] += " more";
  BOOST_TEST(sf::dataset_hash(edited) != sf::dataset_hash(dataset));
  sf::TextDataset relabelled = dataset;
  relabelled.labels[3] = (relabelled.labels[3] + 1) % 3;
  BOOST_TEST(sf::dataset_hash(relabelled) != sf::dataset_hash(dataset));
  sf::tokenize_cached(edited, tokenizer, 8, cache_dir, &outcome);
  BOOST_TEST((outcome == sf::CacheOutcome::created));
  const sf::WordPieceTokenizer other_tokenizer = sf::WordPieceTokenizer::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "text"});
  const sf::TokenizedSplit other = sf::tokenize_cached(dataset, other_tokenizer, 8, cache_dir, &outcome);
  BOOST_TEST((outcome == sf::CacheOutcome::created));
  BOOST_TEST((other.ids != expected.ids));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(real_imdb)

BOOST_AUTO_TEST_CASE(archive_test_split_matches_the_jsonl) {
  const fs::path archive = sf::test::shared_data_directory() / "imdb" / "aclImdb_v1.tar.gz";
  const fs::path jsonl = sf::test::shared_data_directory() / "imdb" / "test.jsonl.gz";
  if (!fs::exists(archive)) {
    BOOST_TEST_MESSAGE("skipped: " << archive << " is absent (set SF_DATA_DIR)");
    return;
  }
  const sf::TextDataset test = sf::load_dataset(archive.string(), "test");
  BOOST_TEST(test.size() == 25000);
  BOOST_TEST((class_counts(test) == std::map<std::int32_t, int>{{0, 12500}, {1, 12500}}));
  BOOST_TEST(test.class_names == (std::vector<std::string>{"neg", "pos"}), boost::test_tools::per_element());
  if (!fs::exists(jsonl)) return;
  // The two files are the same reviews in the same order (neg 0..12499, then pos).
  const sf::TextDataset from_jsonl = sf::load_dataset(jsonl.string(), "test");
  BOOST_TEST(from_jsonl.class_names == test.class_names, boost::test_tools::per_element());
  BOOST_TEST((from_jsonl.labels == test.labels));
  BOOST_TEST((from_jsonl.texts == test.texts));
}

BOOST_AUTO_TEST_SUITE_END()
