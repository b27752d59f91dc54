// Fuzz target: `--set key=value` overrides (one per input line) on a preset, as the command line
// applies them: unknown keys, wrong types, out-of-range values must all be clear errors.
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "sf/swarmformer/training_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> overrides;
  std::string line;
  for (const char byte : sf::fuzz::bytes_of(data, size)) {
    if (byte == '\n') {
      overrides.push_back(line);
      line.clear();
    } else {
      line.push_back(byte);
    }
  }
  if (!line.empty()) overrides.push_back(line);
  for (const char* preset : {"enhanced-small", "original-small"})
    sf::fuzz::expect_only_clear_errors([&] { (void)sf::resolve_config(preset, overrides); });
  return 0;
}
