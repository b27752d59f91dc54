// safetensors: round trips, the header-only read, foreign files, and one test per kind of bad
// file (each must give an sf::Error naming the file and the problem).
#include <boost/test/unit_test.hpp>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "safetensors_test_util.hpp"
#include "sf/nn/safetensors.hpp"
#include "test_util.hpp"

using sf::Shape;
using sf::Tensor;
using sf::test::check_error_message;
using sf::test::raw_safetensors;
using sf::test::read_bytes;
using sf::test::TemporaryDirectory;
using sf::test::value_bytes;
using sf::test::write_bytes;

namespace {

// Bitwise equality, so -0.0, NaN payloads and infinities must survive exactly.
void check_same_bits(const Tensor& actual, const Tensor& expected) {
  BOOST_TEST((actual.dtype() == expected.dtype()));
  BOOST_TEST((actual.shape() == expected.shape()));
  BOOST_REQUIRE(actual.numel() == expected.numel());
  const Tensor contiguous = expected.contiguous();
  BOOST_TEST(std::memcmp(actual.raw_data(), contiguous.raw_data(), actual.numel() * actual.element_size()) == 0);
}

const nlohmann::json kMetadata = {{"config", {{"model_dim", 128}, {"layers", {1, 2}}}},
                                  {"step", 120},
                                  {"note", "120"},  // a string that looks like JSON stays a string
                                  {"learning_rate", 0.25},
                                  {"resumable", true},
                                  {"name", "tiny run"}};

// A good file with two float32 tensors; returns its path.
std::string write_small_file(const TemporaryDirectory& directory, const std::string& name = "small.safetensors") {
  const std::string path = directory.file(name);
  sf::save_safetensors(path,
                       {{"weight", Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3})},
                        {"bias", Tensor::from_vector(std::vector<float>{-1, 0.5f, 7}, {3})}},
                       {{"step", 120}});
  return path;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(round_trip_keeps_names_order_dtypes_shapes_bits_and_metadata) {
  TemporaryDirectory directory;
  const std::string path = directory.file("model.safetensors");
  const float infinity = std::numeric_limits<float>::infinity();
  const Tensor weight =
      Tensor::from_vector(std::vector<float>{-0.0f, 1.5f, infinity, -infinity, std::numeric_limits<float>::denorm_min(),
                                             std::numeric_limits<float>::quiet_NaN()},
                          {3, 2});
  const Tensor bias = Tensor::from_vector(std::vector<double>{1.0 / 3.0, -2.0, 1e300}, {3});
  const Tensor scalar = Tensor::scalar(2.5);
  const Tensor empty = Tensor::zeros({0, 4});
  const Tensor empty64 = Tensor::zeros({3, 0, 2}, sf::DType::Float64);
  const Tensor transposed = Tensor::arange(6).reshape({2, 3}).transpose(0, 1);  // not contiguous
  const sf::NamedTensors tensors = {{"z.weight", weight}, {"a.bias", bias},       {"scalar", scalar},
                                    {"empty", empty},     {"empty64", empty64}, {"transposed", transposed}};
  sf::save_safetensors(path, tensors, kMetadata);

  const sf::SafetensorsFile loaded = sf::load_safetensors(path);
  BOOST_REQUIRE(loaded.tensors.size() == tensors.size());
  for (std::size_t index = 0; index < tensors.size(); ++index) {
    BOOST_TEST(loaded.tensors[index].first == tensors[index].first);  // the writer's order is the data order
    check_same_bits(loaded.tensors[index].second, tensors[index].second);
  }
  BOOST_TEST(loaded.tensors[5].second.at({2, 1}) == 5.0);  // transposed(2, 1) = arange(2, 3)[1, 2]
  BOOST_TEST(loaded.metadata == kMetadata);
  BOOST_TEST(loaded.metadata["note"].is_string());
  BOOST_TEST(loaded.raw_metadata.at("step") == "120");
  BOOST_TEST(loaded.raw_metadata.at("config") == kMetadata["config"].dump());
  BOOST_TEST(loaded.raw_metadata.at("format") == "pt");
  BOOST_TEST(loaded.raw_metadata.at("sf_checksum").rfind("crc32:", 0) == 0u);

  // The layout promised to Python tools: header padded to 8 bytes, starting with '{'.
  const std::string bytes = read_bytes(path);
  const std::uint64_t header_length = sf::test::stored_header_length(bytes);
  BOOST_TEST(header_length % 8 == 0u);
  BOOST_TEST(bytes[8] == '{');
  BOOST_TEST(bytes.size() == 8 + header_length + (6 + 1 + 6) * 4 + 3 * 8);  // float32: weight, scalar, transposed
}

BOOST_AUTO_TEST_CASE(no_tensors_and_no_metadata_round_trip) {
  TemporaryDirectory directory;
  const std::string path = directory.file("empty.safetensors");
  sf::save_safetensors(path, {}, nullptr);
  const sf::SafetensorsFile loaded = sf::load_safetensors(path);
  BOOST_TEST(loaded.tensors.empty());
  BOOST_TEST(loaded.metadata == nlohmann::json::object());
}

BOOST_AUTO_TEST_CASE(header_read_gives_entries_in_data_order_without_the_data) {
  TemporaryDirectory directory;
  const std::string path = write_small_file(directory);
  const sf::SafetensorsHeader header = sf::read_safetensors_header(path);
  BOOST_REQUIRE(header.entries.size() == 2u);
  BOOST_TEST(header.entries[0].name == "weight");
  BOOST_TEST(header.entries[0].dtype == "F32");
  BOOST_TEST((header.entries[0].shape == Shape{2, 3}));
  BOOST_TEST(header.entries[0].begin == 0u);
  BOOST_TEST(header.entries[0].end == 24u);
  BOOST_TEST(header.entries[1].name == "bias");
  BOOST_TEST(header.entries[1].begin == 24u);
  BOOST_TEST(header.entries[1].end == 36u);
  BOOST_TEST(header.data_size == 36u);
  BOOST_TEST(header.data_start + header.data_size == std::filesystem::file_size(path));
  BOOST_TEST(header.metadata == (nlohmann::json{{"step", 120}}));
}

BOOST_AUTO_TEST_CASE(foreign_file_without_checksum_loads_and_half_types_widen_to_float32) {
  TemporaryDirectory directory;
  const std::string path = directory.file("foreign.safetensors");
  // F16: 1, -2, 65504 (largest), 2^-24 (smallest subnormal), +inf, 0x3555 = 0.333251953125.
  const std::vector<std::uint16_t> half = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555};
  // BF16: 1, -3.140625, 2^-133 (a float32 subnormal).
  const std::vector<std::uint16_t> brain = {0x3f80, 0xc049, 0x0001};
  const std::vector<double> wide = {0.125, -8.0};
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},)"
      R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},)"
      R"("d":{"dtype":"F64","shape":[2],"data_offsets":[18,34]},"__metadata__":{"format":"pt","step":"7"}})";
  write_bytes(path, raw_safetensors(header, value_bytes(half) + value_bytes(brain) + value_bytes(wide)));

  const sf::SafetensorsFile loaded = sf::load_safetensors(path);
  BOOST_REQUIRE(loaded.tensors.size() == 3u);
  BOOST_TEST(loaded.tensors[0].first == "h");  // sorted by offset, not by name
  const Tensor& h = loaded.tensors[0].second;
  BOOST_TEST((h.dtype() == sf::DType::Float32));
  BOOST_TEST((h.shape() == Shape{2, 3}));
  const std::vector<float> half_values = h.values<float>();
  const std::vector<float> expected_half = {1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24),
                                            std::numeric_limits<float>::infinity(), 0.333251953125f};
  BOOST_TEST(half_values == expected_half, boost::test_tools::per_element());
  const std::vector<float> brain_values = loaded.tensors[1].second.values<float>();
  const std::vector<float> expected_brain = {1.0f, -3.140625f, std::ldexp(1.0f, -133)};
  BOOST_TEST(brain_values == expected_brain, boost::test_tools::per_element());
  BOOST_TEST((loaded.tensors[2].second.dtype() == sf::DType::Float64));
  BOOST_TEST(loaded.tensors[2].second.to_vector() == wide, boost::test_tools::per_element());
  // Without sf_json_keys nothing is guessed: "7" stays the string it is in the file.
  BOOST_TEST(loaded.metadata == (nlohmann::json{{"step", "7"}}));
}

// ---- bad files: one test per kind ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_file) {
  TemporaryDirectory directory;
  const std::string path = directory.file("absent.safetensors");
  check_error_message([&] { sf::load_safetensors(path); }, "safetensors '" + path + "': cannot open");
  check_error_message([&] { sf::read_safetensors_header(path); }, "No such file");
}

BOOST_AUTO_TEST_CASE(a_directory_is_not_a_file) {
  TemporaryDirectory directory;
  check_error_message([&] { sf::load_safetensors(directory.path().string()); }, "not a regular file");
}

BOOST_AUTO_TEST_CASE(shorter_than_the_length_prefix) {
  TemporaryDirectory directory;
  const std::string path = directory.file("short.safetensors");
  write_bytes(path, std::string("\x10\x00\x00", 3));
  check_error_message([&] { sf::load_safetensors(path); }, "'" + path + "': the file is 3 bytes, shorter than");
  write_bytes(path, "");
  check_error_message([&] { sf::load_safetensors(path); }, "the file is 0 bytes");
}

BOOST_AUTO_TEST_CASE(header_length_larger_than_the_file) {
  TemporaryDirectory directory;
  const std::string path = write_small_file(directory);
  std::string bytes = read_bytes(path);
  const std::uint64_t header_length = sf::test::stored_header_length(bytes);
  // Cut inside the header: the stored length now exceeds what follows it.
  write_bytes(path, bytes.substr(0, 8 + header_length / 2));
  check_error_message([&] { sf::load_safetensors(path); },
                      fmt::format("header length {} is larger than the {} bytes after it", header_length,
                                  header_length / 2));
  // An absurd length is refused before anything is allocated.
  bytes[7] = 0x40;  // 2^62 + ...
  write_bytes(path, bytes);
  check_error_message([&] { sf::load_safetensors(path); }, "exceeds the 100000000-byte limit");
}

BOOST_AUTO_TEST_CASE(truncated_data) {
  TemporaryDirectory directory;
  const std::string path = write_small_file(directory);
  const std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() - 4));
  check_error_message([&] { sf::load_safetensors(path); },
                      "truncated: the header describes 36 bytes of tensor data but only 32 bytes follow");
}

BOOST_AUTO_TEST_CASE(flipped_byte_in_the_data_fails_the_checksum) {
  TemporaryDirectory directory;
  const std::string path = write_small_file(directory);
  std::string bytes = read_bytes(path);
  bytes[bytes.size() - 5] ^= 0x01;  // one bit of the bias
  write_bytes(path, bytes);
  check_error_message([&] { sf::load_safetensors(path); }, "'" + path + "': checksum mismatch");
}

BOOST_AUTO_TEST_CASE(edited_header_fails_the_checksum) {
  TemporaryDirectory directory;
  const std::string path = write_small_file(directory);
  const std::string bytes = read_bytes(path);
  // A metadata edit and a shape change that keeps the byte count both stay valid JSON.
  for (auto [from, to] : {std::pair{"\"120\"", "\"121\""}, std::pair{"[2,3]", "[3,2]"}}) {
    std::string edited = bytes;
    const std::size_t position = edited.find(from);
    BOOST_REQUIRE(position != std::string::npos);
    edited.replace(position, std::strlen(from), to);
    write_bytes(path, edited);
    check_error_message([&] { sf::load_safetensors(path); }, "checksum mismatch");
  }
}

BOOST_AUTO_TEST_CASE(malformed_checksum_field) {
  TemporaryDirectory directory;
  const std::string path = directory.file("bad_checksum.safetensors");
  write_bytes(path, raw_safetensors(R"({"__metadata__":{"sf_checksum":"md5:abc"}})", ""));
  check_error_message([&] { sf::load_safetensors(path); }, "unsupported checksum \"md5:abc\"");
}

BOOST_AUTO_TEST_CASE(invalid_json_header) {
  TemporaryDirectory directory;
  const std::string path = directory.file("invalid.safetensors");
  write_bytes(path, raw_safetensors(R"({"w":{"dtype":"F32",)", ""));
  check_error_message([&] { sf::load_safetensors(path); }, "'" + path + "': header is not valid JSON");
}

BOOST_AUTO_TEST_CASE(header_that_is_not_an_object) {
  TemporaryDirectory directory;
  const std::string path = directory.file("array.safetensors");
  write_bytes(path, raw_safetensors("[1, 2]  ", ""));
  check_error_message([&] { sf::load_safetensors(path); }, "header is a JSON array, not an object");
  write_bytes(path, raw_safetensors(R"({"w": 3})", ""));
  check_error_message([&] { sf::load_safetensors(path); }, "tensor 'w': entry is a JSON number, not an object");
}

BOOST_AUTO_TEST_CASE(entry_missing_a_field) {
  TemporaryDirectory directory;
  const std::string path = directory.file("missing_field.safetensors");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"w":{"shape":[1],"data_offsets":[0,4]}})", "tensor 'w': missing \"dtype\""},
      {R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", "tensor 'w': missing \"shape\""},
      {R"({"w":{"dtype":"F32","shape":[1]}})", "tensor 'w': missing \"data_offsets\""}};
  for (const auto& [header, expected] : cases) {
    write_bytes(path, raw_safetensors(header, std::string(4, '\0')));
    check_error_message([&] { sf::load_safetensors(path); }, expected);
  }
}

BOOST_AUTO_TEST_CASE(unsupported_dtype) {
  TemporaryDirectory directory;
  const std::string path = directory.file("int64.safetensors");
  write_bytes(path, raw_safetensors(R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", std::string(16, '\0')));
  check_error_message([&] { sf::load_safetensors(path); },
                      "tensor 'ids': unsupported dtype \"I64\" (supported: F32, F64; F16 and BF16");
  write_bytes(path, raw_safetensors(R"({"ids":{"dtype":7,"shape":[2],"data_offsets":[0,16]}})", std::string(16, '\0')));
  check_error_message([&] { sf::load_safetensors(path); }, "\"dtype\" is not a string");
}

BOOST_AUTO_TEST_CASE(bad_shapes) {
  TemporaryDirectory directory;
  const std::string path = directory.file("shape.safetensors");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "a shape dimension is negative (-1)"},
      {R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "a shape dimension is not an integer (1.5)"},
      {R"({"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", "a shape dimension is not an integer"},
      {R"({"w":{"dtype":"F32","shape":4,"data_offsets":[0,4]}})", "\"shape\" is not an array"},
      {R"({"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", "shape has 9 dimensions, at most 8"},
      {R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})", "shape is too large: dimension 1 (4294967296) overflows"}};
  for (const auto& [header, expected] : cases) {
    write_bytes(path, raw_safetensors(header, std::string(4, '\0')));
    check_error_message([&] { sf::load_safetensors(path); }, "tensor 'w': " + expected);
  }
}

BOOST_AUTO_TEST_CASE(bad_data_offsets) {
  TemporaryDirectory directory;
  const std::string path = directory.file("offsets.safetensors");
  const std::string twelve(12, '\0');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
       "tensor 'w': data_offsets [0, 8] hold 8 bytes but F32 [3] needs 12 bytes"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", "data_offsets [8, 4] end before they begin"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", "\"data_offsets\" is not an array [begin, end]"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", "data_offsets begin is negative"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       "tensor 'b' at data_offsets [4, 8] overlaps tensor 'a' at [0, 8]"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
       "bytes [4, 8) of the data section belong to no tensor (before tensor 'b')"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "4 bytes of data after the last tensor"},
      {R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", "truncated"}};
  for (const auto& [header, expected] : cases) {
    write_bytes(path, raw_safetensors(header, twelve));
    check_error_message([&] { sf::load_safetensors(path); }, expected);
  }
}

BOOST_AUTO_TEST_CASE(bad_metadata) {
  TemporaryDirectory directory;
  const std::string path = directory.file("metadata.safetensors");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"__metadata__":{"step":120}})", "__metadata__ \"step\" is a JSON number; the format requires strings"},
      {R"({"__metadata__":[1]})", "__metadata__ is a JSON array, not an object"},
      {R"({"__metadata__":{"sf_json_keys":"step"}})", "\"sf_json_keys\" is not a JSON array of strings"},
      {R"({"__metadata__":{"sf_json_keys":"[\"step\"]"}})", "lists \"step\", which is absent"},
      {R"({"__metadata__":{"sf_json_keys":"[\"step\"]","step":"{oops"}})", "\"step\" is listed in sf_json_keys but"}};
  for (const auto& [header, expected] : cases) {
    write_bytes(path, raw_safetensors(header, ""));
    check_error_message([&] { sf::load_safetensors(path); }, expected);
  }
}

BOOST_AUTO_TEST_CASE(deeply_nested_header_is_an_error_not_a_stack_overflow) {
  TemporaryDirectory directory;
  const std::string path = directory.file("nested.safetensors");
  const std::size_t depth = 1000000;
  const std::string nested = std::string(depth, '[') + std::string(depth, ']');
  write_bytes(path, raw_safetensors(R"({"w":{"dtype":)" + nested + R"(,"shape":[],"data_offsets":[0,4]}})",
                                    std::string(4, '\0')));
  check_error_message([&] { sf::load_safetensors(path); }, "\"dtype\" is not a string (a JSON array of 1 elements)");
}

// Random byte flips, insertions of garbage and truncations of a good file: each load must either
// succeed or throw sf::Error (never another exception type, never a crash; run under ASan in CI).
BOOST_AUTO_TEST_CASE(random_corruptions_load_or_give_an_sf_error) {
  TemporaryDirectory directory;
  const std::string good_path = write_small_file(directory);
  const std::string good = read_bytes(good_path);
  const std::string path = directory.file("mutated.safetensors");
  std::mt19937_64 generator(20240607);
  int errors = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = good;
    const int mutations = 1 + static_cast<int>(generator() % 4);
    for (int mutation = 0; mutation < mutations; ++mutation) {
      const std::size_t position = generator() % bytes.size();
      switch (generator() % 4) {
        case 0: bytes[position] = static_cast<char>(generator()); break;
        case 1: bytes[position] = "{}[]\",:0123456789-."[generator() % 19]; break;
        case 2: bytes.resize(position); break;
        default: bytes.insert(position, 1 + generator() % 8, static_cast<char>(generator())); break;
      }
      if (bytes.empty()) break;
    }
    write_bytes(path, bytes);
    try {
      sf::load_safetensors(path);
    } catch (const sf::Error& error) {
      BOOST_TEST_INFO("message: " << error.what());
      BOOST_TEST(std::string(error.what()).find("safetensors '" + path + "': ") == 0u);
      ++errors;
    }
  }
  BOOST_TEST(errors > 2900);  // nearly every corruption is caught (the checksum covers the rest)
}

BOOST_AUTO_TEST_SUITE_END()
