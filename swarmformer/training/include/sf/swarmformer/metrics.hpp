// Classification metrics from a confusion matrix.
//
//   confusion[t][p] = number of examples of true class t predicted as p
//   accuracy = Σ_c confusion[c][c] / N
//   precision_c = confusion[c][c] / Σ_t confusion[t][c],  recall_c = confusion[c][c] / Σ_p confusion[c][p]
//   F1_c = 2 P R / (P + R);  macro = mean over classes.
// For two classes the headline precision/recall/F1 are those of class 1 ("pos" on IMDB).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sf {

struct ClassificationMetrics {
  std::int64_t count = 0;
  double loss = 0.0;  // mean cross-entropy
  std::vector<std::vector<std::int64_t>> confusion;
  std::vector<std::string> class_names;

  double accuracy() const;
  double precision(std::size_t label) const;
  double recall(std::size_t label) const;
  double f1(std::size_t label) const;
  double macro_f1() const;
  // The headline class: 1 for binary problems, else -1 (use the macro scores).
  int headline_class() const { return confusion.size() == 2 ? 1 : -1; }
  nlohmann::json to_json() const;
};

ClassificationMetrics make_metrics(const std::vector<std::int32_t>& labels, const std::vector<std::int32_t>& predictions,
                                   double total_loss, const std::vector<std::string>& class_names);

}  // namespace sf
