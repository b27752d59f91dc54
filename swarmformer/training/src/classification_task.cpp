// The classification task: the dataset's splits (training_data.hpp), cross-entropy on the
// classifier's logits, accuracy on validation, and the test split evaluated once at the end.
#include "sf/swarmformer/evaluation.hpp"
#include "sf/swarmformer/training_data.hpp"
#include "sf/swarmformer/training_step.hpp"
#include "sf/swarmformer/training_task.hpp"

namespace sf {
namespace {

class ClassificationTask : public TrainingTask {
 public:
  ClassificationTask(const TaskPaths& paths, const SwarmFormerConfig& model, const TrainingConfig& training,
                     Communicator& communicator, const MessageSink& messages)
      : training_(training),
        communicator_(communicator),
        data_(load_training_data(paths.data, paths.vocab, model, training, paths.cache_dir, messages)) {
    if (data_.train.size() == 0) fail("train: the training split of {} is empty", paths.data);
  }

  std::string name() const override { return "classification"; }
  std::string score_name() const override { return "accuracy"; }
  std::int64_t train_size() const override { return data_.train.size(); }

  StepOutcome step(SwarmFormer& model, const std::vector<std::int64_t>& rows, std::int64_t global_count,
                   std::int64_t /*epoch*/, const GradientReducer::LeafReadyHook& hook) override {
    if (rows.empty()) return {};
    return forward_backward(model, make_batch(data_.train, rows), global_count, training_.label_smoothing, hook);
  }

  TaskEvaluation validate(SwarmFormer& model) override {
    const ClassificationMetrics metrics =
        evaluate(model, data_.validation, training_.eval_batch_size, communicator_, training_.max_eval_examples);
    return {.score = metrics.accuracy(), .loss = metrics.loss, .metrics = metrics.to_json()};
  }

  nlohmann::json finish(SwarmFormer& model) override {
    const ClassificationMetrics test =
        evaluate(model, data_.test, training_.eval_batch_size, communicator_, training_.max_eval_examples);
    return {{"test", test.to_json()}};
  }

  nlohmann::json data_description() const override { return data_.description; }
  std::vector<std::string> class_names() const override { return data_.train.class_names; }

 private:
  TrainingConfig training_;
  Communicator& communicator_;
  TrainingData data_;
};

}  // namespace

std::unique_ptr<TrainingTask> make_classification_task(const TaskPaths& paths, const SwarmFormerConfig& model,
                                                       const TrainingConfig& training, Communicator& communicator,
                                                       const MessageSink& messages) {
  return std::make_unique<ClassificationTask>(paths, model, training, communicator, messages);
}

}  // namespace sf
