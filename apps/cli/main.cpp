// swarmformer — train, evaluate and inspect SwarmFormer text classifiers.
#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "sf/core/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"swarmformer: train, evaluate and inspect SwarmFormer text classifiers"};
  app.require_subcommand(1);
  sf::cli::add_model_commands(app);
  sf::cli::add_gradcheck_command(app);
  sf::cli::add_bench_command(app);
  sf::cli::add_tokenize_command(app);
  sf::cli::add_trace_command(app);
  sf::cli::add_train_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const sf::Error& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
