// Errors of the whole project: one exception type, messages that name the op and
// print every shape involved, e.g. "matmul: inner dimensions differ: [32, 128] vs [64, 16]".
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace sf {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws sf::Error with a fmt-formatted message.
template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace sf

// SF_CHECK(condition, "op: what is wrong: {}", details...) — for misuse by callers.
#define SF_CHECK(condition, ...)        \
  do {                                  \
    if (!(condition)) ::sf::fail(__VA_ARGS__); \
  } while (false)
