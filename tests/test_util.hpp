// Helpers shared by the test suites.
#pragma once

#include <boost/test/unit_test.hpp>

#include <sys/resource.h>

#include <csignal>
#include <string>

#include "sf/core/error.hpp"

namespace sf::test {

// Checks that body() throws sf::Error whose message contains `expected`.
template <class Body>
void check_error_message(Body&& body, const std::string& expected) {
  try {
    body();
  } catch (const sf::Error& error) {
    BOOST_TEST_INFO("message: " << error.what());
    BOOST_TEST(std::string(error.what()).find(expected) != std::string::npos);
    return;
  }
  BOOST_FAIL("expected sf::Error containing: " + expected);
}

// Makes write() fail with EFBIG beyond `bytes` for this process (SIGXFSZ ignored, so the call
// returns an error instead of killing the process); restores both on destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    BOOST_REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_limit_) == 0);
    saved_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_limit_;
    limit.rlim_cur = bytes;
    BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_limit_);
    std::signal(SIGXFSZ, saved_handler_);
  }

 private:
  rlimit saved_limit_{};
  void (*saved_handler_)(int) = nullptr;
};

}  // namespace sf::test
