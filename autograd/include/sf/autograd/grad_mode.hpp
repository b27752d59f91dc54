// Whether ops record the graph. Off inside a NoGradGuard (evaluation, optimizer updates).
#pragma once

namespace sf {

bool grad_enabled();
void set_grad_enabled(bool enabled);

// RAII: no graph is recorded while it lives; the previous mode is restored on exit.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace sf
