// safetensors: load_into (strict and non-strict, like PyTorch's load_state_dict), the writer's
// argument checks, atomic writes under real I/O failures, and the file the Python check reads.
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>

#include <csignal>
#include <cstdlib>

#include "safetensors_test_util.hpp"
#include "sf/nn/safetensors.hpp"
#include "test_util.hpp"

using sf::Shape;
using sf::Tensor;
using sf::test::check_error_message;
using sf::test::read_bytes;
using sf::test::TemporaryDirectory;

namespace {

sf::SafetensorsFile checkpoint_in_float64() {
  return {{{"linear.weight", Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3})},
           {"linear.bias", Tensor::from_vector(std::vector<double>{0.5, -0.5}, {2})},
           {"norm.weight", Tensor::from_vector(std::vector<double>{3, 3, 3}, {3})}},
          {},
          nlohmann::json::object()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors_loading)

BOOST_AUTO_TEST_CASE(strict_load_copies_by_name_into_the_destination_storage_converting_dtype) {
  const sf::SafetensorsFile file = checkpoint_in_float64();
  Tensor weight = Tensor::zeros({2, 3});
  Tensor bias = Tensor::zeros({2});
  Tensor norm = Tensor::zeros({3}, sf::DType::Float64);
  const sf::LoadReport report =
      sf::load_into(file, {{"norm.weight", norm}, {"linear.bias", bias}, {"linear.weight", weight}}, true, "x");
  BOOST_TEST(report.missing.empty());
  BOOST_TEST(report.unexpected.empty());
  BOOST_TEST((weight.dtype() == sf::DType::Float32));
  BOOST_TEST(weight.to_vector() == (std::vector<double>{1, 2, 3, 4, 5, 6}), boost::test_tools::per_element());
  BOOST_TEST(bias.to_vector() == (std::vector<double>{0.5, -0.5}), boost::test_tools::per_element());
  BOOST_TEST(norm.to_vector() == (std::vector<double>{3, 3, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(shape_mismatch_names_the_tensor_and_both_shapes_and_copies_nothing) {
  const sf::SafetensorsFile file = checkpoint_in_float64();
  Tensor weight = Tensor::zeros({3, 2});
  Tensor bias = Tensor::zeros({2});
  Tensor norm = Tensor::zeros({3});
  for (bool strict : {true, false}) {
    check_error_message(
        [&] { sf::load_into(file, {{"linear.bias", bias}, {"linear.weight", weight}, {"norm.weight", norm}}, strict,
                            "run/model.safetensors"); },
        "load_into 'run/model.safetensors': shape mismatch for 'linear.weight': checkpoint [2, 3] vs destination [3, 2]");
    BOOST_TEST(bias.to_vector() == (std::vector<double>{0, 0}), boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(strict_load_lists_every_missing_and_unexpected_key) {
  const sf::SafetensorsFile file = checkpoint_in_float64();
  Tensor bias = Tensor::zeros({2});
  Tensor extra_a = Tensor::zeros({4});
  Tensor extra_b = Tensor::zeros({1});
  const sf::NamedTensors destinations = {{"linear.bias", bias}, {"head.weight", extra_a}, {"head.bias", extra_b}};
  check_error_message([&] { sf::load_into(file, destinations, true, "ckpt"); },
                      "load_into 'ckpt': missing keys (2): head.weight, head.bias; "
                      "unexpected keys (2): linear.weight, norm.weight");
  BOOST_TEST(bias.to_vector() == (std::vector<double>{0, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(non_strict_load_skips_and_reports_missing_and_unexpected_keys) {
  const sf::SafetensorsFile file = checkpoint_in_float64();
  Tensor bias = Tensor::zeros({2});
  Tensor extra = Tensor::full({4}, 9.0);
  const sf::LoadReport report = sf::load_into(file, {{"linear.bias", bias}, {"head.weight", extra}}, false, "ckpt");
  BOOST_TEST(report.missing == (std::vector<std::string>{"head.weight"}), boost::test_tools::per_element());
  BOOST_TEST(report.unexpected == (std::vector<std::string>{"linear.weight", "norm.weight"}),
             boost::test_tools::per_element());
  BOOST_TEST(bias.to_vector() == (std::vector<double>{0.5, -0.5}), boost::test_tools::per_element());
  BOOST_TEST(extra.to_vector() == (std::vector<double>{9, 9, 9, 9}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(load_into_rejects_duplicate_or_undefined_destinations) {
  const sf::SafetensorsFile file = checkpoint_in_float64();
  Tensor bias = Tensor::zeros({2});
  check_error_message([&] { sf::load_into(file, {{"linear.bias", bias}, {"linear.bias", bias}}, false, "c"); },
                      "destination 'linear.bias' appears twice");
  check_error_message([&] { sf::load_into(file, {{"linear.bias", Tensor()}}, false, "c"); },
                      "destination 'linear.bias' is undefined");
}

BOOST_AUTO_TEST_CASE(saved_file_loads_into_parameters_end_to_end) {
  TemporaryDirectory directory;
  const std::string path = directory.file("model.safetensors");
  sf::save_safetensors(path, checkpoint_in_float64().tensors, nullptr);
  Tensor weight = Tensor::zeros({2, 3}, sf::DType::Float64);
  Tensor bias = Tensor::zeros({2}, sf::DType::Float64);
  Tensor norm = Tensor::zeros({3}, sf::DType::Float64);
  sf::load_into(sf::load_safetensors(path), {{"linear.weight", weight}, {"linear.bias", bias}, {"norm.weight", norm}},
                true, path);
  BOOST_TEST(weight.at({1, 2}) == 6.0);
  BOOST_TEST(bias.at({1}) == -0.5);
}

BOOST_AUTO_TEST_CASE(writer_rejects_bad_names_tensors_and_reserved_metadata) {
  TemporaryDirectory directory;
  const std::string path = directory.file("bad.safetensors");
  const Tensor tensor = Tensor::zeros({2});
  check_error_message([&] { sf::save_safetensors(path, {{"a", tensor}, {"a", tensor}}, nullptr); },
                      "tensor name 'a' appears twice");
  check_error_message([&] { sf::save_safetensors(path, {{"", tensor}}, nullptr); }, "empty name");
  check_error_message([&] { sf::save_safetensors(path, {{"__metadata__", tensor}}, nullptr); },
                      "\"__metadata__\" cannot name a tensor");
  check_error_message([&] { sf::save_safetensors(path, {{"a", Tensor()}}, nullptr); }, "tensor 'a' is undefined");
  check_error_message([&] { sf::save_safetensors(path, {{"a", tensor}}, {{"sf_checksum", "x"}}); },
                      "metadata key \"sf_checksum\" is reserved");
  check_error_message([&] { sf::save_safetensors(path, {{"a", tensor}}, nlohmann::json::array({1})); },
                      "metadata must be a JSON object, got a JSON array");
  check_error_message([&] { sf::save_safetensors(path, {{"bad\xff", tensor}}, nullptr); },
                      "cannot encode the header");
  BOOST_TEST(!std::filesystem::exists(path));
  BOOST_TEST(directory.temporary_leftovers().empty());
}

// ---- atomic writes (sf::test::FileSizeLimit: test_util.hpp) ------------------------------------

BOOST_AUTO_TEST_CASE(failure_mid_write_keeps_the_previous_file_and_removes_the_temporary) {
  TemporaryDirectory directory;
  const std::string path = directory.file("checkpoint.safetensors");
  const Tensor old_weight = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3});
  sf::save_safetensors(path, {{"weight", old_weight}}, {{"step", 10}});
  const std::string good_bytes = read_bytes(path);

  // A real I/O error after part of the data was written: a 1 MiB tensor against a 64 KiB limit.
  {
    sf::test::FileSizeLimit limit(64 * 1024);
    check_error_message([&] { sf::save_safetensors(path, {{"weight", Tensor::ones({256 * 1024})}}, {{"step", 20}}); },
                        "cannot write '" + path + ".tmp-");
  }
  BOOST_TEST(read_bytes(path) == good_bytes);
  BOOST_TEST(directory.temporary_leftovers().empty());
  const sf::SafetensorsFile loaded = sf::load_safetensors(path);
  BOOST_TEST(loaded.metadata["step"] == 10);
  BOOST_TEST(loaded.tensors.at(0).second.to_vector() == (std::vector<double>{1, 2, 3}),
             boost::test_tools::per_element());

  // A bad tensor in the list: nothing is written at all.
  check_error_message([&] { sf::save_safetensors(path, {{"weight", old_weight}, {"broken", Tensor()}}, nullptr); },
                      "tensor 'broken' is undefined");
  BOOST_TEST(read_bytes(path) == good_bytes);
  BOOST_TEST(directory.temporary_leftovers().empty());
}

BOOST_AUTO_TEST_CASE(failed_rename_removes_the_fully_written_temporary) {
  TemporaryDirectory directory;
  // rename() cannot replace a non-empty directory, so the last step fails after fsync.
  const std::string path = directory.file("occupied");
  std::filesystem::create_directories(std::filesystem::path(path) / "child");
  check_error_message([&] { sf::save_safetensors(path, {{"w", Tensor::zeros({4})}}, nullptr); },
                      "cannot rename '" + path + ".tmp-");
  BOOST_TEST(directory.temporary_leftovers().empty());
  BOOST_TEST(std::filesystem::is_directory(std::filesystem::path(path) / "child"));
}

BOOST_AUTO_TEST_CASE(missing_directory_is_an_error_naming_the_path) {
  TemporaryDirectory directory;
  const std::string path = directory.file("no/such/dir/model.safetensors");
  check_error_message([&] { sf::save_safetensors(path, {{"w", Tensor::zeros({1})}}, nullptr); },
                      "save_safetensors '" + path + "': cannot create");
}

// ---- the file tests/nn/check_safetensors.py reads ---------------------------------------------

// Writes the file whose contents check_safetensors.py expects (keep the two in step). CTest runs
// this case with SF_SAFETENSORS_INTEROP_PATH set and then the script; run alone, it writes to a
// temporary directory and checks the file with the C++ reader.
BOOST_AUTO_TEST_CASE(python_interop_fixture) {
  TemporaryDirectory directory;
  const char* requested = std::getenv("SF_SAFETENSORS_INTEROP_PATH");
  const std::string path = requested != nullptr ? std::string(requested) : directory.file("interop.safetensors");

  std::vector<float> embedding(12);
  for (int index = 0; index < 12; ++index) embedding[index] = static_cast<float>(index) * 0.25f - 1.0f;
  std::vector<double> bias(5);
  for (int index = 0; index < 5; ++index) bias[index] = 1.0 / (index + 1);
  const sf::NamedTensors tensors = {
      {"embedding.weight", Tensor::from_vector(embedding, {4, 3})},
      {"layers.0.bias", Tensor::from_vector(bias, {5})},
      {"scale", Tensor::scalar(2.5)},
      {"empty", Tensor::zeros({0, 3})},
      {"transposed", Tensor::arange(6).reshape({2, 3}).transpose(0, 1)}};
  const nlohmann::json metadata = {
      {"config", {{"model_dim", 128}, {"name", "tiny"}}}, {"step", 120}, {"note", "hello"}};
  sf::save_safetensors(path, tensors, metadata);

  const sf::SafetensorsFile loaded = sf::load_safetensors(path);
  BOOST_REQUIRE(loaded.tensors.size() == 5u);
  BOOST_TEST(loaded.tensors[4].second.to_vector() == (std::vector<double>{0, 3, 1, 4, 2, 5}),
             boost::test_tools::per_element());
  BOOST_TEST(loaded.metadata == metadata);
}

BOOST_AUTO_TEST_SUITE_END()
