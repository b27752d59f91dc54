// The pretraining corpus: unlabelled texts from every supported layout, and the removal of texts
// that are copies of a test review.
#include <boost/test/unit_test.hpp>

#include <cstdlib>

#include "sf/swarmformer/corpus.hpp"
#include "swarmformer/text_test_util.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using sf::test::TemporaryDirectory;
using sf::test::write_file;

namespace {

// aclImdb/{train,test}/{neg,pos} with one review each, and train/unsup with three, one of them a
// copy of a test review.
void write_tiny_aclimdb(const fs::path& root) {
  for (const char* folder : {"train/neg", "train/pos", "test/neg", "test/pos", "train/unsup"})
    fs::create_directories(root / "aclImdb" / folder);
  write_file(root / "aclImdb/train/neg/0_2.txt", "dull");
  write_file(root / "aclImdb/train/pos/0_9.txt", "great");
  write_file(root / "aclImdb/test/neg/0_1.txt", "awful film");
  write_file(root / "aclImdb/test/pos/0_8.txt", "lovely film");
  write_file(root / "aclImdb/train/unsup/10_0.txt", "tenth");
  write_file(root / "aclImdb/train/unsup/2_0.txt", "lovely film");  // a test review's copy
  write_file(root / "aclImdb/train/unsup/1_0.txt", "first");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pretraining_corpus)

BOOST_AUTO_TEST_CASE(aclimdb_directory_and_archive) {
  TemporaryDirectory directory;
  write_tiny_aclimdb(directory.path());
  // Numeric id order: 1, 2, 10.
  const std::vector<std::string> expected{"first", "lovely film", "tenth"};
  BOOST_TEST(sf::load_unlabeled_texts(directory.path().string()) == expected, boost::test_tools::per_element());
  const std::string archive = (directory / "aclImdb_v1.tar.gz").string();
  const std::string command = "tar -czf '" + archive + "' -C '" + directory.path().string() + "' aclImdb";
  BOOST_REQUIRE(std::system(command.c_str()) == 0);
  BOOST_TEST(sf::load_unlabeled_texts(archive) == expected, boost::test_tools::per_element());

  const sf::PretrainingCorpus corpus = sf::build_pretraining_corpus(directory.path().string(), {});
  BOOST_TEST(corpus.texts == (std::vector<std::string>{"dull", "great", "first", "tenth"}), boost::test_tools::per_element());
  BOOST_TEST(corpus.description["test_copies_removed"].get<int>() == 1);
}

BOOST_AUTO_TEST_CASE(jsonl_and_plain_text_corpora) {
  TemporaryDirectory directory;
  write_file(directory / "unsup.jsonl", "{\"id\": \"train/unsup/0\", \"text\": \"one\"}\n\n{\"text\": \"two\", \"label\": 3}\n");
  write_file(directory / "lines.txt", "alpha\r\n\nbeta\n");
  BOOST_TEST(sf::load_unlabeled_texts(directory.path().string()) == (std::vector<std::string>{"one", "two"}),
             boost::test_tools::per_element());
  BOOST_TEST(sf::load_unlabeled_texts((directory / "unsup.jsonl").string()) == (std::vector<std::string>{"one", "two"}),
             boost::test_tools::per_element());
  BOOST_TEST(sf::load_unlabeled_texts((directory / "lines.txt").string()) == (std::vector<std::string>{"alpha", "beta"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_corpora_are_named) {
  TemporaryDirectory directory;
  write_file(directory / "bad.jsonl", "{\"text\": \"ok\"}\n{\"label\": 1}\n");
  sf::test::check_error_message([&] { sf::load_unlabeled_texts((directory / "bad.jsonl").string()); },
                                "bad.jsonl:2: the object has no \"text\" string");
  write_file(directory / "latin1.txt", "ok\ncaf\xe9\n");
  sf::test::check_error_message([&] { sf::load_unlabeled_texts((directory / "latin1.txt").string()); },
                                "latin1.txt:2: invalid UTF-8");
  sf::test::check_error_message([&] { sf::load_unlabeled_texts((directory / "corpus.docx").string()); },
                                "no such file");
  write_file(directory / "corpus.docx", "x");
  sf::test::check_error_message([&] { sf::load_unlabeled_texts((directory / "corpus.docx").string()); },
                                "unknown corpus format");
}

BOOST_AUTO_TEST_CASE(real_imdb_corpus_excludes_test_copies) {
  const fs::path imdb = sf::test::shared_data_directory() / "imdb";
  if (!fs::exists(imdb / "unsup.jsonl.gz")) {
    BOOST_TEST_MESSAGE("skipped: " << imdb << " has no unsup.jsonl.gz (set SF_DATA_DIR)");
    return;
  }
  const sf::PretrainingCorpus corpus = sf::build_pretraining_corpus(imdb.string(), {});
  BOOST_TEST_MESSAGE(corpus.description.dump());
  // 25,000 training texts and 50,000 unlabelled ones, minus every copy of a test review: 123
  // training reviews and 270 unlabelled rows (266 distinct texts, the data README's count) are
  // byte-identical to one.
  const nlohmann::json& sources = corpus.description["sources"];
  BOOST_TEST(sources[0]["test_copies_removed"].get<int>() == 123);
  BOOST_TEST(sources[1]["test_copies_removed"].get<int>() == 270);
  BOOST_TEST(corpus.texts.size() == 25000u + 50000u - 123u - 270u);
}

BOOST_AUTO_TEST_SUITE_END()
