// gradcheck: the float64 gradient checks of every op, as a table, for people who study the code.
#include <iostream>

#include "commands.hpp"
#include "sf/autograd/gradcheck_cases.hpp"

namespace sf::cli {

void add_gradcheck_command(CLI::App& app) {
  struct Options {
    std::string op;
    bool all = false;
    bool list = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("gradcheck", "compare backward with finite differences (float64) for the ops");
  command->add_option("--op", options->op, "one op (see --list)");
  command->add_flag("--all", options->all, "every op");
  command->add_flag("--list", options->list, "list the op names");
  command->callback([options] {
    if (options->list) {
      for (const std::string& name : gradcheck_op_names()) std::cout << name << '\n';
      return;
    }
    if (options->all == !options->op.empty()) fail("gradcheck: give exactly one of --op NAME and --all");
    if (!options->all) {
      const auto names = gradcheck_op_names();
      if (std::find(names.begin(), names.end(), options->op) == names.end())
        fail("gradcheck: unknown op '{}' (see swarmformer gradcheck --list)", options->op);
    }
    std::cout << fmt::format("{:<16} {:<58} {:>12} {:>12} {:>6}\n", "op", "shapes", "max abs err", "max rel err", "pass");
    int failures = 0;
    for (const GradcheckCase& entry : gradcheck_cases()) {
      if (!options->all && entry.op != options->op) continue;
      const GradcheckResult result = entry.run();
      std::cout << fmt::format("{:<16} {:<58} {:>12.3g} {:>12.3g} {:>6}\n", entry.op, entry.shapes, result.max_abs_error,
                               result.max_rel_error, result.passed ? "yes" : "NO");
      if (!result.passed) {
        ++failures;
        std::cout << "    worst: " << result.worst << '\n';
      }
    }
    std::cout << (failures == 0 ? "all passed\n" : fmt::format("{} FAILED\n", failures));
    if (failures) throw CLI::RuntimeError(1);
  });
}

}  // namespace sf::cli
