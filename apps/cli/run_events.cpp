#include "run_events.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>

#include "sf/swarmformer/report.hpp"

namespace sf::cli {
namespace {

std::atomic<int> received_signal{0};
extern "C" void on_stop_signal(int signal_number) { received_signal.store(signal_number); }

}  // namespace

ProgressLine::ProgressLine(bool enabled) : terminal_(enabled && ::isatty(STDERR_FILENO)) {}

void ProgressLine::update(const std::string& text, double fraction, bool logged) {
  if (terminal_) {
    constexpr int width = 24;
    const int filled = std::clamp(static_cast<int>(fraction * width + 0.5), 0, width);
    std::fprintf(stderr, "\r[%s%s] %s\033[K", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(), text.c_str());
    std::fflush(stderr);
    drawn_ = true;
  } else if (logged) {
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
  }
}

void ProgressLine::finish() {
  if (terminal_ && drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

StopSignals::StopSignals() {
  received_signal.store(0);
  previous_interrupt_ = std::signal(SIGINT, on_stop_signal);
  previous_terminate_ = std::signal(SIGTERM, on_stop_signal);
}

StopSignals::~StopSignals() {
  std::signal(SIGINT, previous_interrupt_);
  std::signal(SIGTERM, previous_terminate_);
}

bool StopSignals::requested() { return received_signal.load() != 0; }

MessageSink stderr_messages(const Communicator& communicator) {
  if (!communicator.is_root()) return {};
  return [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
}

TrainingEvents command_line_events(ProgressLine& progress) {
  TrainingEvents events;
  events.message = [&progress](const std::string& line) {
    progress.finish();
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  };
  events.progress = [&progress](const std::string& text, double fraction, bool logged) {
    progress.update(text, fraction, logged);
  };
  events.stop_requested = [] { return StopSignals::requested(); };
  events.plot = [&progress](const std::string& run_dir, const std::string& selection_label) {
    std::string problem;
    const bool drawn = plot_curves(run_dir, selection_label, &problem);
    if (!drawn) {
      progress.finish();
      std::fprintf(stderr, "note: %s\n", problem.c_str());
    }
    return drawn;
  };
  return events;
}

}  // namespace sf::cli
