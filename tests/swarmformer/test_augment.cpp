// Text augmentation: sentence splitting and shuffling, WordNet synonyms, concatenation, and the
// dataset transform's counts and determinism.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <set>

#include "sf/swarmformer/augment.hpp"
#include "sf/swarmformer/wordnet.hpp"
#include "test_util.hpp"

namespace {

const std::string wordnet_dir = "/usr/share/wordnet";
bool have_wordnet() { return std::filesystem::exists(wordnet_dir + "/data.noun"); }

std::vector<std::string> as_strings(const std::vector<std::string_view>& views) { return {views.begin(), views.end()}; }

sf::TextDataset reviews(int count) {
  sf::TextDataset dataset;
  dataset.class_names = {"neg", "pos"};
  for (int row = 0; row < count; ++row) {
    dataset.texts.push_back(fmt::format("Review {} starts here. It has a good plot! Was it fun? Yes, said Mr. Smith. The end {}.", row, row));
    dataset.labels.push_back(row % 3 == 0 ? 1 : 0);
  }
  return dataset;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(augmentation)

BOOST_AUTO_TEST_CASE(sentences_split_at_terminal_punctuation_but_not_abbreviations) {
  BOOST_TEST(as_strings(sf::split_sentences("A film. Two stars! Really?  Yes \"quite.\" Mr. Smith and J. R. Ewing came. End"))
                 == (std::vector<std::string>{"A film.", "Two stars!", "Really?", "Yes \"quite.\"",
                                              "Mr. Smith and J. R. Ewing came.", "End"}),
             boost::test_tools::per_element());
  // HTML line breaks end a sentence; decimals and dotted names do not.
  BOOST_TEST(as_strings(sf::split_sentences("Rated 7.5 out of 10.<br /><br />See it...now or later.")) ==
                 (std::vector<std::string>{"Rated 7.5 out of 10.", "<br /><br />See it...now or later."}),
             boost::test_tools::per_element());
  BOOST_TEST(sf::split_sentences("").empty());
}

BOOST_AUTO_TEST_CASE(shuffle_keeps_every_sentence_and_short_texts) {
  const std::string text = "One. Two. Three. Four. Five. Six. Seven.";
  std::set<std::string> seen;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    sf::Generator generator(seed);
    const std::string shuffled = sf::shuffle_sentences(text, generator);
    std::vector<std::string> parts = as_strings(sf::split_sentences(shuffled));
    std::sort(parts.begin(), parts.end());
    BOOST_TEST(parts == (std::vector<std::string>{"Five.", "Four.", "One.", "Seven.", "Six.", "Three.", "Two."}),
               boost::test_tools::per_element());
    seen.insert(shuffled);
    sf::Generator same(seed);
    BOOST_TEST(sf::shuffle_sentences(text, same) == shuffled);  // the seed decides
  }
  BOOST_TEST(seen.size() > 10u);
  sf::Generator generator(1);
  BOOST_TEST(sf::shuffle_sentences("Only one. And two.", generator) == "Only one. And two.");
}

BOOST_AUTO_TEST_CASE(wordnet_synonyms_follow_morphy_and_lemma_names) {
  if (!have_wordnet()) {
    BOOST_TEST_MESSAGE("skipped: WordNet not installed in " << wordnet_dir << " (Debian wordnet-base)");
    return;
  }
  const sf::WordNet wordnet = sf::WordNet::load(wordnet_dir);
  BOOST_TEST(wordnet.synset_count() == 117659u);  // WordNet 3.0: 82,115 + 13,767 + 18,156 + 3,621
  const std::vector<std::string> movie = wordnet.synonyms("movie");
  BOOST_TEST((std::count(movie.begin(), movie.end(), "film") == 1));
  BOOST_TEST((std::count(movie.begin(), movie.end(), "motion picture") == 1));  // underscores become spaces
  BOOST_TEST((std::count(movie.begin(), movie.end(), "movie") == 0));
  // Morphy: plural nouns and inflected verbs reach their lemmas; exceptions first.
  const std::vector<std::string> movies = wordnet.synonyms("movies");
  BOOST_TEST((std::count(movies.begin(), movies.end(), "film") == 1));
  BOOST_TEST((std::count(movies.begin(), movies.end(), "movie") == 1));  // "movie" != "movies"
  const std::vector<std::string> geese = wordnet.synonyms("geese");
  BOOST_TEST((std::find(geese.begin(), geese.end(), "goose") != geese.end()));
  // The word as written is compared case-sensitively, as the reference does.
  const std::vector<std::string> capital = wordnet.synonyms("Movie");
  BOOST_TEST((std::count(capital.begin(), capital.end(), "movie") == 1));
  BOOST_TEST(wordnet.synonyms("film.").empty());  // punctuation attached: no lemma
  BOOST_TEST(wordnet.synonyms("qwxzv").empty());
  sf::test::check_error_message([] { sf::WordNet::load("/nonexistent-wordnet"); }, "wordnet-base");
}

BOOST_AUTO_TEST_CASE(synonym_swap_replaces_about_the_requested_share) {
  if (!have_wordnet()) return;
  const sf::WordNet wordnet = sf::WordNet::load(wordnet_dir);
  std::string text;
  for (int index = 0; index < 500; ++index) text += "good movie ";
  sf::Generator generator(3);
  const std::string swapped = sf::swap_synonyms(text, 0.1, wordnet, generator);
  int changed = 0, words = 0;
  for (std::size_t start = 0; start < swapped.size();) {
    const std::size_t end = std::min(swapped.find(' ', start), swapped.size());
    const std::string word = swapped.substr(start, end - start);
    ++words;
    if (word != "good" && word != "movie") ++changed;
    start = end + 1;
  }
  BOOST_TEST(changed > 50);   // about 100 of 1,000 words (multi-word synonyms add words)
  BOOST_TEST(changed < 200);
  sf::Generator none(3);
  BOOST_TEST(sf::swap_synonyms("a  good\tmovie\n", 0.0, wordnet, none) == "a good movie");
}

BOOST_AUTO_TEST_CASE(dataset_transform_counts_labels_and_determinism) {
  const sf::TextDataset dataset = reviews(400);
  sf::AugmentOptions options = sf::AugmentOptions::parse("sentence_shuffle:0.3,concatenate:0.25");
  nlohmann::json summary;
  const sf::TextDataset augmented = sf::augment_dataset(dataset, options, 42, &summary);
  const auto shuffled = summary["sentence_shuffle"].get<std::int64_t>();
  BOOST_TEST((shuffled > 90 && shuffled < 150));  // Binomial(400, 0.3): mean 120, sd 9
  BOOST_TEST(summary["concatenate"].get<std::int64_t>() == 100);
  BOOST_TEST(augmented.size() == 400 + shuffled + 100);
  // The originals come first, unchanged; every copy keeps its source's label.
  for (int row = 0; row < 400; ++row) BOOST_TEST(augmented.texts[row] == dataset.texts[row]);
  for (std::int64_t row = 400; row < 400 + shuffled; ++row) {
    const std::string& text = augmented.texts[row];
    const std::size_t number = std::stoul(text.substr(text.find("Review ") + 7));
    BOOST_TEST(augmented.labels[row] == dataset.labels[number]);
  }
  // A concatenation joins reviews of its own class only.
  for (std::int64_t row = 400 + shuffled; row < augmented.size(); ++row) {
    const std::string& text = augmented.texts[row];
    for (std::size_t at = text.find("Review "); at != std::string::npos; at = text.find("Review ", at + 1))
      BOOST_TEST(dataset.labels[std::stoul(text.substr(at + 7))] == augmented.labels[row]);
  }
  BOOST_TEST(sf::augment_dataset(dataset, options, 42).texts == augmented.texts, boost::test_tools::per_element());
  BOOST_TEST(sf::augment_dataset(dataset, options, 43).texts != augmented.texts);
}

BOOST_AUTO_TEST_CASE(spec_errors_name_the_entry) {
  sf::test::check_error_message([] { sf::AugmentOptions::parse("sentence_shuffle"); }, "not transform:amount");
  sf::test::check_error_message([] { sf::AugmentOptions::parse("shuffle:0.3"); }, "unknown transform 'shuffle'");
  sf::test::check_error_message([] { sf::AugmentOptions::parse("synonym_swap:1.5"); }, "must be a number in [0, 1]");
  sf::test::check_error_message([] { sf::AugmentOptions::parse("synonym_swap:0.3x"); }, "'0.3x'");
  BOOST_TEST(!sf::AugmentOptions::parse("").any());
  BOOST_TEST(!sf::AugmentOptions::parse("none").any());
}

BOOST_AUTO_TEST_SUITE_END()
