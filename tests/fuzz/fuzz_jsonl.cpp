// Fuzz target: the JSONL dataset reader ({"text": ..., "label": ...} per line, names or numbers).
#include "fuzz_util.hpp"
#include "sf/swarmformer/dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sf::fuzz::ScratchFile file(sf::fuzz::bytes_of(data, size), ".jsonl");
  sf::fuzz::expect_only_clear_errors([&] {
    const sf::TextDataset dataset = sf::load_jsonl(file.path());
    for (const std::int32_t label : dataset.labels)
      if (label < 0 || static_cast<std::size_t>(label) >= dataset.class_names.size()) std::abort();
  });
  return 0;
}
