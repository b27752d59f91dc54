// The masked-LM pretraining task: the corpus (corpus.hpp) cut into rows of seq_len, BERT's
// masking drawn per (seed, epoch, row, position) (masked_lm.hpp), the loss of the chosen positions
// averaged over the global batch's chosen tokens, and masked-token accuracy on held-out rows.
#include "sf/autograd/functional.hpp"
#include "sf/autograd/grad_mode.hpp"
#include "sf/core/compute.hpp"
#include "sf/swarmformer/corpus.hpp"
#include "sf/swarmformer/dataset.hpp"
#include "sf/swarmformer/token_cache.hpp"
#include "sf/swarmformer/tokenizer.hpp"
#include "sf/swarmformer/training_task.hpp"

namespace sf {
namespace {

// Validation masks use their own stream, the same at every evaluation.
constexpr std::int64_t validation_epoch = 1'000'003;

class MaskedLanguageModelTask : public TrainingTask {
 public:
  MaskedLanguageModelTask(const TaskPaths& paths, const SwarmFormerConfig& model, const TrainingConfig& training,
                          Communicator& communicator, const MessageSink& messages)
      : training_(training), communicator_(communicator), length_(model.seq_len) {
    const WordPieceTokenizer tokenizer = WordPieceTokenizer::from_file(paths.vocab);
    if (tokenizer.vocabulary_size() != model.vocab_size)
      fail("pretrain: the vocabulary {} has {} tokens but the model's vocab_size is {}", paths.vocab,
           tokenizer.vocabulary_size(), model.vocab_size);
    special_ = {.pad = tokenizer.pad_id(), .unknown = tokenizer.unknown_id(), .classifier = tokenizer.classifier_id(),
                .separator = tokenizer.separator_id(), .mask = tokenizer.id_of("[MASK]"),
                .vocabulary_size = tokenizer.vocabulary_size()};
    if (special_.mask < 0) fail("pretrain: the vocabulary {} has no [MASK] token", paths.vocab);
    options_.mask_fraction = training.mask_fraction;

    PretrainingCorpus corpus = build_pretraining_corpus(paths.data, paths.extra_corpora);
    TextDataset texts;
    texts.class_names = {"text"};
    texts.texts = std::move(corpus.texts);
    texts.labels.assign(texts.texts.size(), 0);
    auto [train_texts, validation_texts] =
        split_stratified(texts, training.validation_fraction, static_cast<std::uint64_t>(training.seed));
    const Framing framing{.truncation = "head", .windows = training.pretrain_windows};
    train_ = tokenize_cached(train_texts, tokenizer, length_, paths.cache_dir, nullptr, framing, messages);
    validation_ = tokenize_cached(validation_texts, tokenizer, length_, paths.cache_dir, nullptr, framing, messages);
    description_ = corpus.description;
    description_["path"] = paths.data;
    description_["vocabulary"] = paths.vocab;
    description_["train_examples"] = train_.rows();
    description_["validation_examples"] = validation_.rows();
    description_["test_examples"] = 0;
    description_["train_texts"] = train_.size();
    description_["validation_texts"] = validation_.size();
    description_["pretrain_windows"] = training.pretrain_windows;
    description_["seq_len"] = length_;
    tell(messages, fmt::format("data: pretraining corpus {} texts ({} test copies removed): {} training rows, {} "
                               "validation rows",
                               train_.size() + validation_.size(),
                               corpus.description["test_copies_removed"].get<std::int64_t>(), train_.rows(),
                               validation_.rows()));
  }

  std::string name() const override { return "masked_lm"; }
  std::string score_name() const override { return "masked-token accuracy"; }
  void prepare(SwarmFormer& model) override { model.add_masked_lm_head(); }
  std::int64_t train_size() const override { return train_.rows(); }

  StepOutcome step(SwarmFormer& model, const std::vector<std::int64_t>& rows, std::int64_t /*global_count*/,
                   std::int64_t epoch, const GradientReducer::LeafReadyHook& hook) override {
    const MaskedBatch batch = mask_rows(train_, rows, epoch);
    // The loss is the mean over the global batch's chosen tokens: every rank needs their count.
    std::vector<double> chosen{static_cast<double>(batch.positions.size())};
    communicator_.allreduce_sum(chosen);
    StepOutcome outcome;
    if (batch.positions.empty()) return outcome;
    const Variable logits = model.masked_lm_logits(batch.ids, static_cast<std::int64_t>(rows.size()), batch.positions);
    const Variable summed = cross_entropy(logits, batch.targets, {.reduction = Reduction::Sum});
    (summed * (1.0 / chosen[0])).backward(Tensor(), /*retain_graph=*/false, hook);
    outcome.loss_sum = summed.item();
    outcome.units = static_cast<double>(batch.positions.size());
    outcome.correct = count_correct(logits.data(), batch.targets);
    return outcome;
  }

  TaskEvaluation validate(SwarmFormer& model) override {
    const bool was_training = model.is_training();
    model.eval();
    NoGradGuard no_grad;
    const std::int64_t count = training_.max_eval_examples > 0 ? std::min(validation_.rows(), training_.max_eval_examples)
                                                               : validation_.rows();
    const std::int64_t first = count * communicator_.rank() / communicator_.size();
    const std::int64_t last = count * (communicator_.rank() + 1) / communicator_.size();
    std::vector<double> totals{0.0, 0.0, 0.0};  // loss sum, correct, chosen
    for (std::int64_t begin = first; begin < last; begin += training_.eval_batch_size) {
      std::vector<std::int64_t> rows;
      for (std::int64_t row = begin; row < std::min(last, begin + training_.eval_batch_size); ++row) rows.push_back(row);
      const MaskedBatch batch = mask_rows(validation_, rows, validation_epoch);
      if (batch.positions.empty()) continue;
      const Variable logits = model.masked_lm_logits(batch.ids, static_cast<std::int64_t>(rows.size()), batch.positions);
      totals[0] += cross_entropy(logits, batch.targets, {.reduction = Reduction::Sum}).item();
      totals[1] += count_correct(logits.data(), batch.targets);
      totals[2] += static_cast<double>(batch.positions.size());
    }
    communicator_.allreduce_sum(totals);
    model.train(was_training);
    const double chosen = std::max(totals[2], 1.0);
    TaskEvaluation evaluation{.score = totals[1] / chosen, .loss = totals[0] / chosen, .metrics = nullptr};
    evaluation.metrics = {{"masked_token_accuracy", evaluation.score}, {"loss", evaluation.loss},
                          {"masked_tokens", totals[2]}, {"rows", count}};
    return evaluation;
  }

  nlohmann::json finish(SwarmFormer& /*model*/) override { return nlohmann::json::object(); }
  nlohmann::json data_description() const override { return description_; }

 private:
  MaskedBatch mask_rows(const TokenizedSplit& split, const std::vector<std::int64_t>& rows, std::int64_t epoch) const {
    std::vector<std::int64_t> ids;
    ids.reserve(rows.size() * static_cast<std::size_t>(length_));
    for (std::int64_t row : rows) {
      const auto begin = split.ids.begin() + row * length_;
      ids.insert(ids.end(), begin, begin + length_);
    }
    return mask_tokens(ids, length_, rows, options_, special_, static_cast<std::uint64_t>(training_.seed), epoch);
  }

  static double count_correct(const Tensor& logits, const std::vector<std::int64_t>& targets) {
    const std::vector<std::int64_t> predictions = compute::argmax(logits, -1);
    double correct = 0.0;
    for (std::size_t index = 0; index < predictions.size(); ++index) correct += predictions[index] == targets[index] ? 1.0 : 0.0;
    return correct;
  }

  TrainingConfig training_;
  Communicator& communicator_;
  std::int64_t length_;
  SpecialTokens special_;
  MaskingOptions options_;
  TokenizedSplit train_, validation_;
  nlohmann::json description_;
};

}  // namespace

std::unique_ptr<TrainingTask> make_masked_lm_task(const TaskPaths& paths, const SwarmFormerConfig& model,
                                                  const TrainingConfig& training, Communicator& communicator,
                                                  const MessageSink& messages) {
  return std::make_unique<MaskedLanguageModelTask>(paths, model, training, communicator, messages);
}

}  // namespace sf
