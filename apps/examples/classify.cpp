// A trained checkpoint as a classifier in a program of one's own (sf::Classifier):
//   classify CHECKPOINT VOCAB [TEXT ...]
// prints each text's label and probability, then for the first text the cluster each word piece
// is routed to most strongly in the first layer (what `swarmformer explain` draws).
#include <exception>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "sf/swarmformer/classifier.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: classify CHECKPOINT VOCAB [TEXT ...]\n";
    return 2;
  }
  std::vector<std::string> texts(argv + 3, argv + argc);
  if (texts.empty()) texts = {"A wonderful film, moving and funny.", "Dull, long and badly acted."};
  try {
    sf::Classifier classifier = sf::Classifier::load(argv[1], {.vocabulary = argv[2]});
    const std::vector<sf::Prediction> predictions = classifier.predict(texts);
    for (std::size_t index = 0; index < texts.size(); ++index)
      std::cout << predictions[index].label << " " << std::fixed << std::setprecision(3)
                << predictions[index].probability << "  " << texts[index] << "\n";
    const nlohmann::json explanation = classifier.explain(texts.front(), /*top=*/1);
    std::cout << "\nlayer 1 routing of: " << texts.front() << "\n";
    for (const nlohmann::json& piece : explanation["layers"][0]["routing"])
      std::cout << "  " << std::setw(14) << piece["piece"].get<std::string>() << " -> cluster "
                << piece["clusters"][0][0] << " (weight " << std::setprecision(2)
                << piece["clusters"][0][1].get<double>() << ")\n";
  } catch (const std::exception& error) {
    std::cerr << "classify: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
