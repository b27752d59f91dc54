// The `swarmformer` command line: each subcommand lives in its own file and registers itself
// with one add_*_command function, called from main.cpp.
#pragma once

#include <CLI/CLI.hpp>

namespace sf::cli {

// Each adds one subcommand to `app`; the subcommand's callback does the work and throws
// sf::Error on bad input (main prints it and exits with status 1).
void add_model_commands(CLI::App& app);      // info, init, forward, flops
void add_gradcheck_command(CLI::App& app);   // gradcheck
void add_train_commands(CLI::App& app);      // train, pretrain, eval, predict
void add_explain_command(CLI::App& app);     // explain
void add_bench_command(CLI::App& app);       // bench
void add_tokenize_command(CLI::App& app);    // tokenize
void add_trace_command(CLI::App& app);       // trace

}  // namespace sf::cli
