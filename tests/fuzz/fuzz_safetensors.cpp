// Fuzz target: the safetensors reader on arbitrary files (header length, JSON header, offsets,
// dtypes, shapes, the checksum), and loading what it accepts into a fixed set of tensors.
#include "fuzz_util.hpp"
#include "sf/nn/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sf::fuzz::ScratchFile file(sf::fuzz::bytes_of(data, size), ".safetensors");
  sf::fuzz::expect_only_clear_errors([&] {
    const sf::SafetensorsFile loaded = sf::load_safetensors(file.path());
    sf::NamedTensors destinations{{"weight", sf::Tensor::zeros({2, 3})}, {"bias", sf::Tensor::zeros({3})}};
    (void)sf::load_into(loaded, destinations, /*strict=*/false, file.path());
  });
  sf::fuzz::expect_only_clear_errors([&] { (void)sf::read_safetensors_header(file.path()); });
  return 0;
}
