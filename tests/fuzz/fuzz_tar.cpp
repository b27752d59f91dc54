// Fuzz target: the aclImdb archive reader (gzip or plain tar through libarchive, member names to
// labels, UTF-8 checks of the reviews).
#include "fuzz_util.hpp"
#include "sf/swarmformer/dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sf::fuzz::ScratchFile file(sf::fuzz::bytes_of(data, size), ".tar.gz");
  for (const char* split : {"train", "test"})
    sf::fuzz::expect_only_clear_errors([&] { (void)sf::load_aclimdb_archive(file.path(), split); });
  return 0;
}
