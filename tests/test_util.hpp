// Helpers shared by the test suites.
#pragma once

#include <boost/test/unit_test.hpp>

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

}  // namespace sf::test
