// Where the library's lines for people go. The library never prints: a function that has
// something to say (the data it loaded, a cache it rebuilt, rows it skipped) takes a MessageSink,
// and the app decides where the line goes (the command line: stderr). An empty sink is silence.
#pragma once

#include <functional>
#include <string>

namespace sf {

using MessageSink = std::function<void(const std::string& line)>;

inline void tell(const MessageSink& sink, const std::string& line) {
  if (sink) sink(line);
}

}  // namespace sf
