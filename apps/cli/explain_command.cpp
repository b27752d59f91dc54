// explain: how a trained model routes the word pieces of a text to its clusters.
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "sf/swarmformer/classifier.hpp"
#include "sf/swarmformer/report.hpp"
#include "sf/swarmformer/training_data.hpp"

namespace sf::cli {

void add_explain_command(CLI::App& app) {
  struct ExplainCli {
    std::string checkpoint, vocab, preset, png;
    std::vector<std::string> texts;
    std::int64_t top = 3, layer = 1;
    int threads = 0;
  };
  auto cli = std::make_shared<ExplainCli>();
  CLI::App* command = app.add_subcommand(
      "explain", "per layer, each word piece's clusters (routing weights) and the attention among clusters, as JSON; "
                 "--png draws the routing of one layer");
  command->add_option("--checkpoint", cli->checkpoint, "model .safetensors")->required();
  command->add_option("--vocab", cli->vocab, "vocab.txt (default: SF_VOCAB, or next to SF_DATA_DIR)");
  command->add_option("--preset", cli->preset, "model config when the checkpoint stores none");
  command->add_option("--top", cli->top, "clusters listed per piece")->check(CLI::PositiveNumber);
  command->add_option("--png", cli->png, "draw the routing heatmap of --layer for the first text into this file");
  command->add_option("--layer", cli->layer, "layer drawn by --png (1 = the first)")->check(CLI::PositiveNumber);
  command->add_option("texts", cli->texts, "texts to explain")->required();
  add_threads_option(command, cli->threads);
  command->callback([cli] {
    apply_threads(cli->threads);
    std::string vocabulary = cli->vocab.empty() ? find_default_vocabulary("") : cli->vocab;
    if (vocabulary.empty()) fail("explain: no vocabulary: pass --vocab FILE, or set SF_VOCAB or SF_DATA_DIR");
    Classifier classifier = Classifier::load(
        cli->checkpoint, {.vocabulary = vocabulary, .preset_or_config = cli->preset, .input_overrides = {}});
    nlohmann::json explanations = nlohmann::json::array();
    for (const std::string& text : cli->texts) explanations.push_back(classifier.explain(text, cli->top));
    if (!cli->png.empty() && !plot_routing(explanations[0], static_cast<std::size_t>(cli->layer - 1), cli->png))
      fail("explain: gnuplot could not draw {} (see {}.log; is gnuplot installed?)", cli->png, cli->png);
    std::cout << explanations.dump(1) << std::endl;
  });
}

}  // namespace sf::cli
