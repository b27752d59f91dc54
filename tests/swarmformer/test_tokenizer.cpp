// The WordPiece tokenizer: golden ids from an independent Python reference, WordPiece mechanics on
// a toy vocabulary, invalid input, and sanity on real IMDB reviews.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sf/swarmformer/dataset.hpp"
#include "sf/swarmformer/tokenizer.hpp"
#include "swarmformer/text_test_util.hpp"
#include "test_util.hpp"

using namespace std::literals;

namespace {

struct GoldenCase {
  const char* name;
  std::string_view text;
  std::int64_t seq_len;  // 0: encode(text) without padding or truncation
  std::vector<std::int32_t> ids;
  std::vector<std::string> tokens;
};

// Expected values derived by tests/swarmformer/golden/derive_tokenizer_golden.py (an independent
// Python implementation of Hugging Face's BertTokenizer); see swarmformer/README.md, "Tokenizer".
const std::vector<GoldenCase>& golden_cases() {
  static const std::vector<GoldenCase> cases = {
#include "swarmformer/golden/tokenizer_golden.inc"
  };
  return cases;
}

bool bert_vocabulary_present() {
  if (std::filesystem::exists(sf::test::bert_vocabulary_path())) return true;
  BOOST_TEST_MESSAGE("skipped: " << sf::test::bert_vocabulary_path() << " is absent (set SF_DATA_DIR)");
  return false;
}

const sf::WordPieceTokenizer& bert() {
  static const sf::WordPieceTokenizer tokenizer = sf::WordPieceTokenizer::from_file(sf::test::bert_vocabulary_path().string());
  return tokenizer;
}

// A toy vocabulary whose ids are easy to read.
sf::WordPieceTokenizer toy_tokenizer() {
  return sf::WordPieceTokenizer::from_tokens(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "a", "##a", "##ff", "!", "x", "##ffable"});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tokenizer)

BOOST_AUTO_TEST_CASE(golden_ids_match_the_reference) {
  if (!bert_vocabulary_present()) return;
  BOOST_TEST(golden_cases().size() >= 60u);
  for (const GoldenCase& golden : golden_cases()) {
    BOOST_TEST_CONTEXT("case " << golden.name) {
      const std::vector<std::int32_t> ids = golden.seq_len > 0 ? bert().encode(golden.text, golden.seq_len) : bert().encode(golden.text);
      BOOST_TEST(ids == golden.ids, boost::test_tools::per_element());
      if (golden.seq_len == 0) BOOST_TEST(bert().tokenize(golden.text) == golden.tokens, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(bert_vocabulary_facts) {
  if (!bert_vocabulary_present()) return;
  BOOST_TEST(bert().vocabulary_size() == 30522);
  BOOST_TEST(bert().pad_id() == 0);
  BOOST_TEST(bert().unknown_id() == 100);
  BOOST_TEST(bert().classifier_id() == 101);
  BOOST_TEST(bert().separator_id() == 102);
  BOOST_TEST(bert().id_of("the") == 1996);
  BOOST_TEST(bert().id_of("##s") == 2015);
  BOOST_TEST(bert().id_of("not-a-token") == -1);
  BOOST_TEST(bert().token_of(1996) == "the");
  sf::test::check_error_message([] { bert().token_of(30522); }, "id 30522 is outside the vocabulary");
  sf::test::check_error_message([] { bert().token_of(-1); }, "outside the vocabulary");
}

BOOST_AUTO_TEST_CASE(greedy_longest_match_first) {
  const sf::WordPieceTokenizer tokenizer = toy_tokenizer();
  // "un" then the longest continuation "##affable"? absent; "##ffable" needs start at 'f'.
  BOOST_TEST(tokenizer.tokenize("unaffable") == (std::vector<std::string>{"un", "##aff", "##able"}), boost::test_tools::per_element());
  // a + ##ff + ##able would also cover "affable", but the longest first piece is "a" then the
  // longest continuation "##ffable".
  BOOST_TEST(tokenizer.tokenize("affable") == (std::vector<std::string>{"a", "##ffable"}), boost::test_tools::per_element());
  BOOST_TEST(tokenizer.tokenize("aaa") == (std::vector<std::string>{"a", "##a", "##a"}), boost::test_tools::per_element());
  // One unmatched position makes the whole word [UNK], not just its tail.
  BOOST_TEST(tokenizer.tokenize("unaffablez") == (std::vector<std::string>{"[UNK]"}), boost::test_tools::per_element());
  BOOST_TEST(tokenizer.tokenize("x!x") == (std::vector<std::string>{"x", "!", "x"}), boost::test_tools::per_element());
  BOOST_TEST(tokenizer.encode("un", 5) == (std::vector<std::int32_t>{2, 5, 3, 0, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(word_length_limit_counts_characters_not_bytes) {
  const sf::WordPieceTokenizer tokenizer = toy_tokenizer();
  BOOST_TEST(tokenizer.tokenize(std::string(100, 'a')).size() == 100u);
  BOOST_TEST(tokenizer.tokenize(std::string(101, 'a')) == (std::vector<std::string>{"[UNK]"}), boost::test_tools::per_element());
  // 100 'a' with acute accents: 300 bytes, 100 characters after stripping: not [UNK].
  std::string accented;
  for (int index = 0; index < 100; ++index) accented += "A\xCC\x81";
  BOOST_TEST(tokenizer.tokenize(accented).size() == 100u);
}

BOOST_AUTO_TEST_CASE(truncation_keeps_the_separator_and_pads) {
  const sf::WordPieceTokenizer tokenizer = toy_tokenizer();
  BOOST_TEST(tokenizer.encode("a a a a", 4) == (std::vector<std::int32_t>{2, 8, 8, 3}), boost::test_tools::per_element());
  BOOST_TEST(tokenizer.encode("a a a a", 2) == (std::vector<std::int32_t>{2, 3}), boost::test_tools::per_element());
  BOOST_TEST(tokenizer.encode("", 3) == (std::vector<std::int32_t>{2, 3, 0}), boost::test_tools::per_element());
  std::vector<std::int32_t> row(6, -7);
  BOOST_TEST(tokenizer.encode_into("a !", 6, row.data()) == 4);
  BOOST_TEST(row == (std::vector<std::int32_t>{2, 8, 11, 3, 0, 0}), boost::test_tools::per_element());
  sf::test::check_error_message([&] { tokenizer.encode("a", 1); }, "seq_len must be at least 2");
}

BOOST_AUTO_TEST_CASE(vocabulary_loading_rules) {
  sf::test::TemporaryDirectory directory;
  // CRLF line endings and a last line without newline load the same tokens.
  sf::test::write_file(directory / "crlf.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello");
  const auto crlf = sf::WordPieceTokenizer::from_file((directory / "crlf.txt").string());
  BOOST_TEST(crlf.vocabulary_size() == 5);
  BOOST_TEST(crlf.id_of("hello") == 4);
  BOOST_TEST(crlf.tokenize("Hello") == (std::vector<std::string>{"hello"}), boost::test_tools::per_element());
  // A duplicated entry keeps its last id, like the reference's dict.
  const auto duplicate = sf::WordPieceTokenizer::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "dup", "dup"});
  BOOST_TEST(duplicate.id_of("dup") == 5);
  BOOST_TEST(duplicate.token_of(4) == "dup");
  // The hash identifies the token list: same list, same hash; one change, another hash.
  const auto same = sf::WordPieceTokenizer::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "dup", "dup"});
  const auto other = sf::WordPieceTokenizer::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "dup", "dip"});
  BOOST_TEST(duplicate.vocabulary_hash() == same.vocabulary_hash());
  BOOST_TEST(duplicate.vocabulary_hash() != other.vocabulary_hash());
  sf::test::check_error_message([] { sf::WordPieceTokenizer::from_tokens({"[PAD]", "[CLS]", "[SEP]"}, "toy.txt"); },
                                "toy.txt: the vocabulary has no [UNK] token");
  sf::test::check_error_message([&] { sf::WordPieceTokenizer::from_file((directory / "absent.txt").string()); },
                                "cannot open vocabulary file");
  sf::test::write_file(directory / "bad.txt", "[PAD]\n[UNK]\nab\xFF\n");
  sf::test::check_error_message([&] { sf::WordPieceTokenizer::from_file((directory / "bad.txt").string()); },
                                "bad.txt:3: invalid UTF-8");
}

BOOST_AUTO_TEST_CASE(special_tokens_in_text) {
  const sf::WordPieceTokenizer tokenizer = toy_tokenizer();
  BOOST_TEST(tokenizer.encode("a[SEP]a") == (std::vector<std::int32_t>{2, 8, 3, 8, 3}), boost::test_tools::per_element());
  BOOST_TEST(tokenizer.encode("[MASK]") == (std::vector<std::int32_t>{2, 4, 3}), boost::test_tools::per_element());
  // Case-sensitive, like the reference: [mask] is punctuation and a word.
  BOOST_TEST(tokenizer.encode("[mask]").size() == 5u);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_an_error_naming_the_byte) {
  const sf::WordPieceTokenizer tokenizer = toy_tokenizer();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"abc\xFF", "invalid UTF-8 at byte 3"},          // never valid
      {"a\xC3", "invalid UTF-8 at byte 1"},            // truncated 2-byte sequence
      {"a\xC0\x80", "invalid UTF-8 at byte 1"},        // overlong NUL
      {"\xE0\x80\xAF", "invalid UTF-8 at byte 0"},     // overlong '/'
      {"ab\xED\xA0\x80", "invalid UTF-8 at byte 2"},   // a surrogate
      {"\xF4\x90\x80\x80", "invalid UTF-8 at byte 0"}, // above U+10FFFF
      {"x \x80", "invalid UTF-8 at byte 2"},           // a lone continuation byte
  };
  for (const auto& [text, message] : cases) {
    BOOST_TEST_CONTEXT("input " << message) {
      const std::string& input = text;  // a plain name: clang 14 lambdas cannot capture a binding
      sf::test::check_error_message([&] { tokenizer.encode(input); }, message);
    }
  }
  // The largest valid code points and a 4-byte emoji are fine.
  BOOST_CHECK_NO_THROW(tokenizer.encode("\xF4\x8F\xBF\xBF \xF0\x9F\x98\x80 \xEF\xBF\xBF"));
}

BOOST_AUTO_TEST_CASE(imdb_reviews_have_no_unknown_storms) {
  const auto path = sf::test::shared_data_directory() / "imdb" / "train.jsonl.gz";
  if (!bert_vocabulary_present() || !std::filesystem::exists(path)) {
    BOOST_TEST_MESSAGE("skipped: " << path << " is absent");
    return;
  }
  const sf::TextDataset train = sf::load_jsonl(path.string());
  std::int64_t pieces = 0, unknown = 0;
  for (std::size_t row = 0; row < 500; ++row) {
    const std::vector<std::int32_t> full = bert().encode(train.texts[row]);
    std::int64_t review_unknown = 0;
    for (const std::int32_t id : full) review_unknown += id == bert().unknown_id();
    BOOST_TEST_CONTEXT("review " << row) {
      BOOST_TEST(review_unknown * 50 <= static_cast<std::int64_t>(full.size()));  // at most 2% per review
      // Truncation equals the head of the full encoding: the early stop loses nothing.
      const std::vector<std::int32_t> truncated = bert().encode(train.texts[row], 64);
      if (full.size() >= 64) {
        BOOST_TEST(std::equal(truncated.begin(), truncated.end() - 1, full.begin()));
        BOOST_TEST(truncated.back() == bert().separator_id());
      }
    }
    pieces += static_cast<std::int64_t>(full.size());
    unknown += review_unknown;
  }
  BOOST_TEST_MESSAGE("IMDB: " << unknown << " [UNK] in " << pieces << " pieces of 500 reviews");
  BOOST_TEST(unknown * 1000 < pieces);  // under 0.1% overall
  // The first positive review (row 12,500: the file holds neg 0..12499, then pos) starts
  // "Bromwell High is a cartoon comedy.", the golden imdb_like case.
  BOOST_REQUIRE(train.texts[12500].starts_with("Bromwell High"));
  const std::vector<std::int32_t> head = bert().encode(train.texts[12500], 10);
  BOOST_TEST(bert().token_of(head[1]) == "bro");
  BOOST_TEST(bert().token_of(head[2]) == "##m");
  BOOST_TEST(bert().token_of(head[3]) == "##well");
}

BOOST_AUTO_TEST_SUITE_END()
