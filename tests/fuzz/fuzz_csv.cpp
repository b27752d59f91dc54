// Fuzz target: the CSV dataset reader (RFC 4180 quoting, a header naming text and label).
#include "fuzz_util.hpp"
#include "sf/swarmformer/dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sf::fuzz::ScratchFile file(sf::fuzz::bytes_of(data, size), ".csv");
  sf::fuzz::expect_only_clear_errors([&] {
    const sf::TextDataset dataset = sf::load_csv(file.path());
    if (dataset.texts.size() != dataset.labels.size()) std::abort();
    for (const std::int32_t label : dataset.labels)
      if (label < 0 || static_cast<std::size_t>(label) >= dataset.class_names.size()) std::abort();
  });
  return 0;
}
