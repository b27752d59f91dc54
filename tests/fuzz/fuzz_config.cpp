// Fuzz target: a config file (JSON with "model" and "training" sections), resolved and validated
// as `train --config FILE` does.
#include "fuzz_util.hpp"
#include "sf/swarmformer/training_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sf::fuzz::ScratchFile file(sf::fuzz::bytes_of(data, size), ".json");
  sf::fuzz::expect_only_clear_errors([&] { (void)sf::resolve_config(file.path(), {}); });
  return 0;
}
