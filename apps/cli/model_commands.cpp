// info, init, forward, flops: inspecting models.
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "sf/nn/checkpoint.hpp"
#include "sf/swarmformer/flops.hpp"
#include "sf/swarmformer/trainer.hpp"

namespace sf::cli {
namespace {

struct ModelChoice {
  std::string preset;
  std::string config_file;
  std::vector<std::string> overrides;
  ResolvedConfig resolve_both() const {
    if (!preset.empty() && !config_file.empty()) fail("give --preset or --config, not both");
    return resolve_config(config_file.empty() ? (preset.empty() ? "enhanced-small" : preset) : config_file, overrides);
  }
  SwarmFormerConfig resolve() const { return resolve_both().model; }
  void add_to(CLI::App* command) {
    command->add_option("--preset", preset, "a built-in preset (original-small, original-base, enhanced-small, enhanced-base)");
    command->add_option("--config", config_file, "a JSON config file");
    command->add_option("--set", overrides, "override a field: key=value (repeatable)");
  }
};

nlohmann::json parameter_tree(const nn::Module& module) {
  nlohmann::json node = {{"module", module.describe()}, {"parameters", module.parameter_count()}};
  nlohmann::json children = nlohmann::json::object();
  for (const auto& [name, child] : module.named_children()) children[name] = parameter_tree(*child);
  if (!children.empty()) node["children"] = children;
  return node;
}

}  // namespace

void add_model_commands(CLI::App& app) {
  auto info_choice = std::make_shared<ModelChoice>();
  CLI::App* info = app.add_subcommand("info", "print a model's parameter count, config and module tree as JSON");
  info_choice->add_to(info);
  info->callback([info_choice] {
    const ResolvedConfig resolved = info_choice->resolve_both();
    const SwarmFormerConfig& config = resolved.model;
    SwarmFormer model(config, 0);
    nlohmann::json shapes = nlohmann::json::object();
    for (const auto& [name, parameter] : model.named_parameters()) shapes[name] = parameter.shape();
    nlohmann::json fields = nlohmann::json::object();
    visit_fields(config, [&](const char* name, const auto&, const char* description) { fields[name] = description; });
    visit_fields_training(resolved.training,
                          [&](const char* name, const auto&, const char* description) { fields[name] = description; });
    std::cout << nlohmann::json{{"params", model.parameter_count()},
                                {"config", config.to_json()},
                                {"training", resolved.training.to_json()},
                                {"tree", parameter_tree(model)},
                                {"parameter_shapes", shapes},
                                {"field_descriptions", fields}}
                     .dump(2)
              << std::endl;
  });

  auto init_choice = std::make_shared<ModelChoice>();
  auto init_seed = std::make_shared<std::uint64_t>(42);
  auto init_out = std::make_shared<std::string>();
  CLI::App* init = app.add_subcommand("init", "write a freshly initialized model to a safetensors file");
  init_choice->add_to(init);
  init->add_option("--seed", *init_seed, "initialization seed");
  init->add_option("--out", *init_out, "output .safetensors file")->required();
  init->callback([init_choice, init_seed, init_out] {
    const SwarmFormerConfig config = init_choice->resolve();
    SwarmFormer model(config, *init_seed);
    nn::save_checkpoint(*init_out, model, nullptr,
                        {{"config", {{"model", config.to_json()}}}, {"seed", *init_seed}});
    std::cerr << "wrote " << *init_out << " (" << model.parameter_count() << " parameters)\n";
  });

  struct ForwardOptions {
    std::string checkpoint, ids, preset;
    int threads = 0;
  };
  auto forward_options = std::make_shared<ForwardOptions>();
  CLI::App* forward = app.add_subcommand("forward", "logits for lines of token ids (evaluation mode)");
  forward->add_option("--checkpoint", forward_options->checkpoint, "model .safetensors")->required();
  forward->add_option("--ids", forward_options->ids, "file of whitespace-separated ids, one sequence per line ('-': stdin)")
      ->required();
  forward->add_option("--preset", forward_options->preset, "model config when the checkpoint stores none");
  add_threads_option(forward, forward_options->threads);
  forward->callback([forward_options] {
    apply_threads(forward_options->threads);
    auto model = load_model(forward_options->checkpoint, forward_options->preset);
    std::int64_t count = 0;
    std::vector<std::int64_t> ids;
    if (forward_options->ids == "-") {
      ids = read_id_lines(std::cin, "stdin", model->config(), count);
    } else {
      std::ifstream file(forward_options->ids);
      if (!file) fail("forward: cannot open {}", forward_options->ids);
      ids = read_id_lines(file, forward_options->ids, model->config(), count);
    }
    const std::int64_t length = model->config().seq_len;
    for (std::int64_t begin = 0; begin < count; begin += 64) {
      const std::int64_t rows = std::min<std::int64_t>(64, count - begin);
      std::vector<std::int64_t> chunk(ids.begin() + begin * length, ids.begin() + (begin + rows) * length);
      const Tensor logits = model->forward(chunk, rows).data();
      const std::vector<double> values = logits.to_vector();
      for (std::int64_t row = 0; row < rows; ++row) {
        nlohmann::json line = nlohmann::json::array();
        for (std::int64_t column = 0; column < logits.size(1); ++column) line.push_back(values[static_cast<std::size_t>(row * logits.size(1) + column)]);
        std::cout << line.dump() << '\n';
      }
    }
  });

  auto flops_choice = std::make_shared<ModelChoice>();
  auto flops_length = std::make_shared<std::int64_t>(0);
  CLI::App* flops = app.add_subcommand("flops", "analytic forward and backward FLOPs per block and in total");
  flops_choice->add_to(flops);
  flops->add_option("--seq-len", *flops_length, "sequence length (default: the config's)");
  flops->callback([flops_choice, flops_length] {
    SwarmFormerConfig config = flops_choice->resolve();
    if (*flops_length > 0) {
      config.seq_len = *flops_length;
      config.validate("--seq-len");
    }
    nlohmann::json report = count_flops(config).to_json();
    report["seq_len"] = config.seq_len;
    std::cout << report.dump(2) << std::endl;
  });
}

}  // namespace sf::cli
