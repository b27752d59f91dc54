#include "sf/swarmformer/metrics.hpp"

#include "sf/core/error.hpp"

namespace sf {
namespace {
double ratio(double numerator, double denominator) { return denominator > 0 ? numerator / denominator : 0.0; }
}  // namespace

double ClassificationMetrics::accuracy() const {
  std::int64_t correct = 0;
  for (std::size_t label = 0; label < confusion.size(); ++label) correct += confusion[label][label];
  return ratio(static_cast<double>(correct), static_cast<double>(count));
}

double ClassificationMetrics::precision(std::size_t label) const {
  std::int64_t predicted = 0;
  for (const auto& row : confusion) predicted += row[label];
  return ratio(static_cast<double>(confusion[label][label]), static_cast<double>(predicted));
}

double ClassificationMetrics::recall(std::size_t label) const {
  std::int64_t actual = 0;
  for (std::int64_t value : confusion[label]) actual += value;
  return ratio(static_cast<double>(confusion[label][label]), static_cast<double>(actual));
}

double ClassificationMetrics::f1(std::size_t label) const {
  const double p = precision(label), r = recall(label);
  return ratio(2 * p * r, p + r);
}

double ClassificationMetrics::macro_f1() const {
  double total = 0.0;
  for (std::size_t label = 0; label < confusion.size(); ++label) total += f1(label);
  return ratio(total, static_cast<double>(confusion.size()));
}

nlohmann::json ClassificationMetrics::to_json() const {
  nlohmann::json per_class = nlohmann::json::array();
  for (std::size_t label = 0; label < confusion.size(); ++label)
    per_class.push_back({{"class", class_names.size() > label ? class_names[label] : std::to_string(label)},
                         {"precision", precision(label)},
                         {"recall", recall(label)},
                         {"f1", f1(label)}});
  const int headline = headline_class();
  return {{"examples", count},
          {"loss", loss},
          {"accuracy", accuracy()},
          {"precision", headline >= 0 ? precision(static_cast<std::size_t>(headline)) : 0.0},
          {"recall", headline >= 0 ? recall(static_cast<std::size_t>(headline)) : 0.0},
          {"f1", headline >= 0 ? f1(static_cast<std::size_t>(headline)) : macro_f1()},
          {"macro_f1", macro_f1()},
          {"per_class", per_class},
          {"confusion_matrix", confusion},
          {"class_names", class_names}};
}

ClassificationMetrics make_metrics(const std::vector<std::int32_t>& labels, const std::vector<std::int32_t>& predictions,
                                   double total_loss, const std::vector<std::string>& class_names) {
  if (labels.size() != predictions.size())
    fail("metrics: {} labels but {} predictions", labels.size(), predictions.size());
  ClassificationMetrics metrics;
  const std::size_t classes = class_names.size();
  metrics.class_names = class_names;
  metrics.confusion.assign(classes, std::vector<std::int64_t>(classes, 0));
  for (std::size_t index = 0; index < labels.size(); ++index) {
    if (labels[index] < 0 || static_cast<std::size_t>(labels[index]) >= classes || predictions[index] < 0 ||
        static_cast<std::size_t>(predictions[index]) >= classes)
      fail("metrics: label {} or prediction {} out of range for {} classes", labels[index], predictions[index], classes);
    ++metrics.confusion[static_cast<std::size_t>(labels[index])][static_cast<std::size_t>(predictions[index])];
  }
  metrics.count = static_cast<std::int64_t>(labels.size());
  metrics.loss = labels.empty() ? 0.0 : total_loss / static_cast<double>(labels.size());
  return metrics;
}

}  // namespace sf
