// Dataset loaders: aclImdb (directory and tar.gz, including long names), JSONL, CSV, format
// detection, and every bad-data case with the message a user sees.
#include <boost/test/unit_test.hpp>

#include <zlib.h>

#include "sf/swarmformer/dataset.hpp"
#include "swarmformer/text_test_util.hpp"
#include "test_util.hpp"

namespace {

using sf::test::TemporaryDirectory;
using sf::test::write_file;
namespace fs = std::filesystem;

void write_gzip(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  gzFile file = gzopen(path.c_str(), "wb");
  if (!file || gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) != static_cast<int>(bytes.size()) ||
      gzclose(file) != Z_OK)
    sf::fail("cannot write {}", path.string());
}

// A minimal tar writer, independent of the reader: ustar headers, GNU 'L' long names, pax 'x'.
std::string tar_header(const std::string& name, std::size_t size, char type) {
  std::string header(512, '\0');
  header.replace(0, std::min<std::size_t>(name.size(), 100), name.substr(0, 100));
  header.replace(100, 7, "0000644");
  header.replace(108, 7, "0000000");
  header.replace(116, 7, "0000000");
  header.replace(124, 11, fmt::format("{:011o}", size));
  header.replace(136, 11, "00000000000");
  header[156] = type;
  header.replace(257, 6, std::string("ustar\0", 6));
  header.replace(263, 2, "00");
  header.replace(148, 8, "        ");
  unsigned checksum = 0;
  for (const char byte : header) checksum += static_cast<unsigned char>(byte);
  header.replace(148, 7, fmt::format("{:06o}", checksum) + std::string(1, '\0'));
  return header;
}

std::string tar_member(const std::string& name, const std::string& content, char type = '0') {
  std::string member = tar_header(name, content.size(), type) + content;
  member.resize((member.size() + 511) / 512 * 512, '\0');
  return member;
}

std::string tar_long_name_member(const std::string& name, const std::string& content) {
  return tar_member("././@LongLink", name + '\0', 'L') + tar_member(name.substr(0, 100), content);
}

std::string tar_pax_member(const std::string& name, const std::string& content) {
  const std::string record_body = " path=" + name + "\n";
  std::size_t length = record_body.size() + 1;
  while (std::to_string(length).size() + record_body.size() != length) ++length;
  return tar_member("PaxHeader/entry", std::to_string(length) + record_body, 'x') + tar_member("short-name.txt", content);
}

const std::string long_folder = "aclImdb/" + std::string(90, 'l') + "/aclImdb";  // forces names over 100 bytes

// A tiny aclImdb tree: ids deliberately out of lexicographic order (10 after 2).
void write_aclimdb(const fs::path& root) {
  write_file(root / "aclImdb/train/neg/10_2.txt", "ten, bad");
  write_file(root / "aclImdb/train/neg/2_1.txt", "two, awful");
  write_file(root / "aclImdb/train/neg/0_3.txt", "zero, meh \xC2\x85 indeed");
  write_file(root / "aclImdb/train/pos/1_9.txt", "one, great");
  write_file(root / "aclImdb/train/unsup/5_0.txt", "unlabelled");
  write_file(root / "aclImdb/test/neg/0_4.txt", "test negative");
  write_file(root / "aclImdb/test/pos/0_8.txt", "test positive");
  write_file(root / "aclImdb/README", "not a review");
}

void check_tiny_train(const sf::TextDataset& train) {
  BOOST_TEST(train.texts == (std::vector<std::string>{"zero, meh \xC2\x85 indeed", "two, awful", "ten, bad", "one, great"}),
             boost::test_tools::per_element());
  BOOST_TEST(train.labels == (std::vector<std::int32_t>{0, 0, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(train.class_names == (std::vector<std::string>{"neg", "pos"}), boost::test_tools::per_element());
}

std::string tiny_archive() {
  return tar_member("aclImdb/", "", '5') + tar_member("aclImdb/train/neg/10_2.txt", "ten, bad") +
         tar_long_name_member(long_folder + "/train/neg/2_1.txt", "two, awful") +
         tar_pax_member("./aclImdb/train/neg/0_3.txt", "zero, meh \xC2\x85 indeed") +
         tar_member("aclImdb/train/unsup/5_0.txt", "unlabelled") + tar_member("aclImdb/train/pos/1_9.txt", "one, great") +
         tar_member("aclImdb/test/neg/0_4.txt", "test negative") + tar_member("aclImdb/test/pos/0_8.txt", "test positive") +
         std::string(1024, '\0');
}

}  // namespace

BOOST_AUTO_TEST_SUITE(datasets)

BOOST_AUTO_TEST_CASE(aclimdb_directory) {
  TemporaryDirectory directory;
  write_aclimdb(directory.path());
  check_tiny_train(sf::load_aclimdb_directory((directory / "aclImdb").string(), "train"));
  check_tiny_train(sf::load_dataset(directory.path().string(), "train"));  // the folder holding aclImdb/
  const sf::TextDataset test = sf::load_dataset((directory / "aclImdb").string(), "test");
  BOOST_TEST(test.texts == (std::vector<std::string>{"test negative", "test positive"}), boost::test_tools::per_element());
  sf::test::check_error_message([&] { sf::load_dataset(directory.path().string(), "validation"); },
                                "has the splits train and test, not \"validation\"");
}

BOOST_AUTO_TEST_CASE(aclimdb_archive_with_long_names) {
  TemporaryDirectory directory;
  write_gzip(directory / "aclImdb_v1.tar.gz", tiny_archive());
  check_tiny_train(sf::load_aclimdb_archive((directory / "aclImdb_v1.tar.gz").string(), "train"));
  check_tiny_train(sf::load_dataset((directory / "aclImdb_v1.tar.gz").string(), "train"));
  check_tiny_train(sf::load_dataset(directory.path().string(), "train"));  // a folder holding the archive
  write_file(directory / "plain.tar", tiny_archive());                      // uncompressed tar too
  check_tiny_train(sf::load_dataset((directory / "plain.tar").string(), "train"));
  BOOST_TEST(sf::load_dataset((directory / "plain.tar").string(), "test").size() == 2);
}

BOOST_AUTO_TEST_CASE(aclimdb_archive_written_by_system_tar) {
  if (std::system("tar --version > /dev/null 2>&1") != 0) {
    BOOST_TEST_MESSAGE("skipped: no tar command");
    return;
  }
  TemporaryDirectory directory;
  write_aclimdb(directory / "source");
  const std::string command = fmt::format("tar -czf '{}' -C '{}' aclImdb", (directory / "archive.tgz").string(),
                                          (directory / "source").string());
  BOOST_REQUIRE(std::system(command.c_str()) == 0);
  check_tiny_train(sf::load_dataset((directory / "archive.tgz").string(), "train"));
}

BOOST_AUTO_TEST_CASE(aclimdb_bad_data) {
  TemporaryDirectory directory;
  write_file(directory / "aclImdb/train/neg/0_1.txt", "only negatives");
  sf::test::check_error_message([&] { sf::load_dataset(directory.path().string(), "train"); }, "train/pos: missing folder");
  sf::test::check_error_message([&] { sf::load_dataset((directory / "absent").string(), "train"); },
                                "absent: no such file or directory");
  write_file(directory / "aclImdb/train/pos/0_9.txt", "caf\xE9 in Latin-1");
  sf::test::check_error_message([&] { sf::load_dataset(directory.path().string(), "train"); },
                                "0_9.txt: invalid UTF-8 at byte 3");

  // Archives: truncated gzip, corrupt gzip, truncated tar, a tar without the classes.
  const std::string archive = tiny_archive();
  write_gzip(directory / "whole.tar.gz", archive);
  const std::string compressed = sf::test::read_bytes(directory / "whole.tar.gz");
  write_file(directory / "truncated.tar.gz", compressed.substr(0, compressed.size() / 2));
  sf::test::check_error_message([&] { sf::load_dataset((directory / "truncated.tar.gz").string(), "train"); },
                                "truncated.tar.gz: cannot read the archive: truncated gzip input");
  // Cut inside a member's data, then inside a header block.
  write_file(directory / "cut.tar", archive.substr(0, 512 + 512 + 4));
  sf::test::check_error_message([&] { sf::load_dataset((directory / "cut.tar").string(), "train"); },
                                "cut.tar: the data of member aclImdb/train/neg/10_2.txt: Truncated tar archive");
  write_file(directory / "cut_header.tar", archive.substr(0, 512 + 100));
  sf::test::check_error_message([&] { sf::load_dataset((directory / "cut_header.tar").string(), "train"); },
                                "cut_header.tar: a damaged tar archive at member 2: Truncated tar archive");
  write_gzip(directory / "other.tar.gz", tar_member("data/readme.txt", "hello") + std::string(1024, '\0'));
  sf::test::check_error_message([&] { sf::load_dataset((directory / "other.tar.gz").string(), "train"); },
                                "the archive has no aclImdb/train/neg/*.txt files");
  std::string bad_checksum = archive;
  bad_checksum[10] = 'X';
  write_file(directory / "checksum.tar", bad_checksum);
  sf::test::check_error_message([&] { sf::load_dataset((directory / "checksum.tar").string(), "train"); },
                                "checksum.tar: cannot read the archive: Unrecognized archive format");
}

BOOST_AUTO_TEST_CASE(jsonl_formats) {
  TemporaryDirectory directory;
  const std::string numeric = "{\"text\": \"good film\", \"label\": 1}\n"
                              "\n"
                              "{\"text\": \"bad film\", \"label\": 0}\r\n"
                              "{\"text\": \"   \", \"label\": 0}\n"
                              "{\"text\": \"okay \\u00e9 film\", \"label\": 2}\n";
  write_file(directory / "numeric.jsonl", numeric);
  const sf::TextDataset loaded = sf::load_jsonl((directory / "numeric.jsonl").string());
  BOOST_TEST(loaded.texts == (std::vector<std::string>{"good film", "bad film", "okay \xC3\xA9 film"}), boost::test_tools::per_element());
  BOOST_TEST(loaded.labels == (std::vector<std::int32_t>{1, 0, 2}), boost::test_tools::per_element());
  BOOST_TEST(loaded.class_names == (std::vector<std::string>{"0", "1", "2"}), boost::test_tools::per_element());
  // gzip gives the same rows; the extension does not matter, the magic bytes do.
  write_gzip(directory / "numeric.jsonl.gz", numeric);
  const sf::TextDataset compressed = sf::load_jsonl((directory / "numeric.jsonl.gz").string());
  BOOST_TEST(compressed.texts == loaded.texts, boost::test_tools::per_element());
  BOOST_TEST(compressed.labels == loaded.labels, boost::test_tools::per_element());

  // Class names: sorted (numerically when they are all integers); the project's IMDB ids name classes.
  write_file(directory / "named.jsonl", "{\"text\": \"a\", \"label\": \"sports\"}\n{\"text\": \"b\", \"label\": \"arts\"}\n");
  const sf::TextDataset named = sf::load_jsonl((directory / "named.jsonl").string());
  BOOST_TEST(named.class_names == (std::vector<std::string>{"arts", "sports"}), boost::test_tools::per_element());
  BOOST_TEST(named.labels == (std::vector<std::int32_t>{1, 0}), boost::test_tools::per_element());
  write_file(directory / "ten.jsonl", "{\"text\": \"a\", \"label\": \"10\"}\n{\"text\": \"b\", \"label\": \"2\"}\n");
  BOOST_TEST(sf::load_jsonl((directory / "ten.jsonl").string()).class_names == (std::vector<std::string>{"2", "10"}),
             boost::test_tools::per_element());
  write_file(directory / "imdb.jsonl", "{\"id\": \"train/neg/0\", \"label\": 0, \"text\": \"x\"}\n"
                                       "{\"id\": \"train/pos/0\", \"label\": 1, \"text\": \"y\"}\n");
  BOOST_TEST(sf::load_jsonl((directory / "imdb.jsonl").string()).class_names == (std::vector<std::string>{"neg", "pos"}),
             boost::test_tools::per_element());
  // Known classes map the test split like the train split.
  const sf::TextDataset mapped = sf::load_jsonl((directory / "named.jsonl").string(), {"sports", "arts"});
  BOOST_TEST(mapped.labels == (std::vector<std::int32_t>{0, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(jsonl_bad_data) {
  TemporaryDirectory directory;
  const auto check = [&](const std::string& content, const std::string& expected, std::vector<std::string> classes = {}) {
    write_file(directory / "bad.jsonl", content);
    sf::test::check_error_message([&] { sf::load_jsonl((directory / "bad.jsonl").string(), classes); }, expected);
  };
  check("{\"text\": \"a\", \"label\": 0}\n{\"text\": \"b\", \"label\": 1,}\n", "bad.jsonl:2: invalid JSON");
  check("{\"text\": \"a\", \"label\": 0}\n{\"text\": \"caf\xE9\", \"label\": 1}\n", "bad.jsonl:2: invalid UTF-8 at byte 13");
  check("{\"text\": \"a\", \"label\": \"drama\"}\n", "bad.jsonl:1: unknown label \"drama\" (the classes are: neg, pos)",
        {"neg", "pos"});
  check("{\"text\": \"a\", \"label\": 2}\n", "bad.jsonl:1: unknown label 2: the classes are 0..1 (neg, pos)", {"neg", "pos"});
  check("{\"text\": \"a\", \"label\": true}\n", "bad.jsonl:1: \"label\" must be an integer (class index) or a string");
  check("{\"text\": \"a\", \"label\": 1.5}\n", "\"label\" must be an integer");
  // A sparse numeric id would make that many classes (found by fuzzing: 88888888 asked for 2.8 GB).
  check("{\"text\": \"great\", \"label\": 88888888}\n",
        "bad.jsonl:1: label 88888888 is too large: numeric labels are class indices below 65536");
  check("{\"text\": \"a\", \"label\": 3e99999}\n", "bad.jsonl:1: invalid JSON");  // a number no type holds
  check("{\"text\": \"a\", \"label\": -1}\n", "bad.jsonl:1: label -1 is negative");
  check("{\"body\": \"a\", \"label\": 1}\n", "bad.jsonl:1: the object has no \"text\" string");
  check("{\"text\": \"a\"}\n", "bad.jsonl:1: the object has no \"label\"");
  check("[1, 2]\n", "bad.jsonl:1: expected one JSON object per line");
  check("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": \"x\"}\n", "bad.jsonl:2: label \"x\" is a class name but earlier");
  // Gzip damage: a cut stream, and flipped bytes inside the compressed data (read to the end, so
  // the CRC-32 in the trailer catches any flip the decoder itself does not).
  std::string rows;
  for (int row = 0; row < 200; ++row) rows += fmt::format("{{\"text\": \"review number {} {}\", \"label\": {}}}\n", row, row * row, row % 2);
  write_gzip(directory / "whole.jsonl.gz", rows);
  const std::string compressed = sf::test::read_bytes(directory / "whole.jsonl.gz");
  write_file(directory / "cut.jsonl.gz", compressed.substr(0, compressed.size() - 12));
  sf::test::check_error_message([&] { sf::load_jsonl((directory / "cut.jsonl.gz").string()); }, "cut.jsonl.gz: truncated gzip file");
  std::string corrupt = compressed;
  for (std::size_t index = corrupt.size() / 2; index < corrupt.size() / 2 + 8; ++index) corrupt[index] = static_cast<char>(corrupt[index] ^ 0x5A);
  write_file(directory / "corrupt.jsonl.gz", corrupt);
  sf::test::check_error_message([&] { sf::load_jsonl((directory / "corrupt.jsonl.gz").string()); },
                                "corrupt.jsonl.gz: corrupt gzip data");
}

BOOST_AUTO_TEST_CASE(empty_texts_are_skipped_and_counted) {
  TemporaryDirectory directory;
  write_file(directory / "gaps.jsonl", "{\"text\": \"\", \"label\": 0}\n{\"text\": \"kept\", \"label\": 1}\n"
                                       "{\"text\": \" \\n\\t\", \"label\": 0}\n");
  const sf::TextDataset loaded = sf::load_jsonl((directory / "gaps.jsonl").string());
  BOOST_TEST(loaded.texts == (std::vector<std::string>{"kept"}), boost::test_tools::per_element());
  BOOST_TEST(loaded.labels == (std::vector<std::int32_t>{1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(csv_quoting) {
  TemporaryDirectory directory;
  write_file(directory / "reviews.csv",
             "\xEF\xBB\xBFid,Label,text\r\n"
             "1,pos,\"Great, really great\"\r\n"
             "2,neg,\"He said \"\"no\"\"\nand left\"\r\n"
             "\r\n"
             "3,neu,plain text\n"
             "4,pos,\"\"\n"
             "5,neg,last line without newline");
  const sf::TextDataset loaded = sf::load_csv((directory / "reviews.csv").string());
  BOOST_TEST(loaded.texts == (std::vector<std::string>{"Great, really great", "He said \"no\"\nand left", "plain text",
                                                       "last line without newline"}),
             boost::test_tools::per_element());
  BOOST_TEST(loaded.class_names == (std::vector<std::string>{"neg", "neu", "pos"}), boost::test_tools::per_element());
  BOOST_TEST(loaded.labels == (std::vector<std::int32_t>{2, 0, 1, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(csv_bad_data) {
  TemporaryDirectory directory;
  const auto check = [&](const std::string& content, const std::string& expected) {
    write_file(directory / "bad.csv", content);
    sf::test::check_error_message([&] { sf::load_csv((directory / "bad.csv").string()); }, expected);
  };
  check("text,label\n\"fine\",a\n\"never closed,b\nmore\n", "bad.csv:3: unterminated quoted field");
  check("text,label\n\"closed\"x,a\n", "bad.csv:2: unexpected character after a closing quote");
  check("text,label\nsay \"hi\",a\n", "bad.csv:2: a quote inside an unquoted field");
  check("text,label\n\"two\nlines\",a,extra\n", "bad.csv:2: 3 fields, but the header has 2 columns");
  check("body,label\nx,a\n", "bad.csv:1: the header row needs a \"text\" and a \"label\" column; it has: body, label");
  check("", "bad.csv: empty CSV file");
  check("text,label\nok,a\ncaf\xE9,b\n", "bad.csv:3: invalid UTF-8 at byte 3");
}

BOOST_AUTO_TEST_CASE(format_detection_and_split_files) {
  TemporaryDirectory directory;
  write_gzip(directory / "data/train.jsonl.gz", "{\"text\": \"train row\", \"label\": \"b\"}\n{\"text\": \"x\", \"label\": \"a\"}\n");
  write_file(directory / "data/test.jsonl", "{\"text\": \"test row\", \"label\": \"a\"}\n");
  const sf::TextDataset train = sf::load_dataset((directory / "data").string(), "train");
  BOOST_TEST(train.texts.front() == "train row");
  BOOST_TEST(sf::load_dataset((directory / "data").string(), "test", train.class_names).labels ==
                 (std::vector<std::int32_t>{0}),
             boost::test_tools::per_element());
  sf::test::check_error_message([&] { sf::load_dataset((directory / "data").string(), "validation"); },
                                "no validation split here");

  write_file(directory / "csv/train.csv", "text,label\na,x\n");
  write_file(directory / "csv/test.csv", "text,label\nb,x\n");
  BOOST_TEST(sf::load_dataset((directory / "csv/train.csv").string(), "test").texts.front() == "b");
  BOOST_TEST(sf::load_dataset((directory / "csv/test.csv").string(), "train").texts.front() == "a");
  write_file(directory / "mine.csv", "text,label\nc,x\n");
  BOOST_TEST(sf::load_dataset((directory / "mine.csv").string(), "train").texts.front() == "c");
  sf::test::check_error_message([&] { sf::load_dataset((directory / "mine.csv").string(), "test"); },
                                "holds the train split only");
  write_file(directory / "solo/train.csv", "text,label\nd,x\n");
  sf::test::check_error_message([&] { sf::load_dataset((directory / "solo/train.csv").string(), "test"); },
                                "there is no test split");
  write_file(directory / "data.parquet", "PAR1");
  sf::test::check_error_message([&] { sf::load_dataset((directory / "data.parquet").string(), "train"); },
                                "unknown data format");
}

BOOST_AUTO_TEST_SUITE_END()
