// The command line's side of a training run (trainer.hpp's TrainingEvents): the progress line and
// messages on stderr, the curves drawn by gnuplot, and Ctrl-C / SIGTERM asking the run to stop.
// The library prints nothing and installs no signal handler; the app does, here.
#pragma once

#include <string>

#include "sf/swarmformer/trainer.hpp"

namespace sf::cli {

// A one-line progress display on stderr: redraws in place on a terminal, prints plain lines
// (the logged steps only) otherwise.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  void update(const std::string& text, double fraction, bool logged);
  void finish();  // ends a drawn line, so that the next message starts on its own

 private:
  bool terminal_ = false;
  bool drawn_ = false;
};

// While alive, SIGINT and SIGTERM ask the run to stop (it saves last.safetensors and returns as
// interrupted); the previous handlers come back when it ends.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  static bool requested();

 private:
  void (*previous_interrupt_)(int);
  void (*previous_terminate_)(int);
};

// Lines to stderr on rank 0, nothing on the others.
MessageSink stderr_messages(const Communicator& communicator);

// Messages and progress to `progress` (stderr), the curves by plot_curves (a note when gnuplot is
// missing or fails), the stop request from StopSignals.
TrainingEvents command_line_events(ProgressLine& progress);

}  // namespace sf::cli
