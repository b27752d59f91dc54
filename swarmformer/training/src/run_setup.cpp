// How a run starts: the config of a new or resumed run, and --init-from (run_setup.hpp).
#include "run_setup.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sf/nn/checkpoint.hpp"
#include "sf/nn/safetensors.hpp"
#include "sf/swarmformer/hashing.hpp"

namespace sf::detail {
namespace {

bool same_file(const std::string& left, const std::string& right) {
  std::error_code ignored;
  return std::filesystem::weakly_canonical(left, ignored) == std::filesystem::weakly_canonical(right, ignored);
}

// A resume continues the run in options.out as it was: its data, its vocabulary, its config
// (config.json) with only resumable fields changed by --set. Anything else is refused, named.
ResolvedConfig resolve_resumed_config(const TrainOptions& options, const nlohmann::json& metadata,
                                      const MessageSink& messages) {
  const std::string last_path = options.out + "/last.safetensors";
  const nlohmann::json data = metadata.value("data", nlohmann::json::object());
  if (data.contains("path") && !options.data.empty() && !same_file(data["path"].get<std::string>(), options.data))
    fail("train --resume: --data {} is not the data the run in {} was trained on ({}); pass that one to continue it",
         options.data, options.out, data["path"].get<std::string>());
  if (data.contains("vocabulary") && !options.vocab.empty() &&
      !same_file(data["vocabulary"].get<std::string>(), options.vocab))
    fail("train --resume: --vocab {} is not the vocabulary the run in {} was trained with ({})", options.vocab,
         options.out, data["vocabulary"].get<std::string>());
  const std::string source = metadata.value("config_source", std::string());
  if (!options.config.empty() && !source.empty() && options.config != source)
    fail("train --resume: the run in {} was started from {}, not {}; a resume keeps the run's own config ({}/config.json)",
         options.out, source, options.config, options.out);
  const ResolvedConfig stored = resolve_config(options.out + "/config.json", {});
  ResolvedConfig resolved = resolve_config(options.out + "/config.json", options.overrides);
  std::vector<std::string> refused, changed;
  for (const char* section : {"model", "training"})
    for (const auto& [key, value] : resolved.document[section].items()) {
      const nlohmann::json& before = stored.document[section][key];
      if (before == value) continue;
      const auto& allowed = resumable_fields();
      if (std::string(section) == "training" && std::find(allowed.begin(), allowed.end(), key) != allowed.end())
        changed.push_back(fmt::format("{} {} -> {}", key, before.dump(), value.dump()));
      else
        refused.push_back(key);
    }
  if (!refused.empty())
    fail("train --resume: --set would change {} of the run in {}, which changes what its steps compute; a resume may "
         "change only {}. To change the others, start a new run (--init-from {} keeps the weights)",
         fmt::join(refused, ", "), options.out, fmt::join(resumable_fields(), ", "), last_path);
  for (const std::string& change : changed) tell(messages, "resume: " + change);
  return resolved;
}

}  // namespace

// The training fields a resume may change: they decide when the run ends, logs, evaluates and
// saves, never what a step computes, so the steps already taken stay those of the run continued.
// (epochs also stretches a schedule that depends on the total; the resume says so.)
const std::vector<std::string>& resumable_fields() {
  static const std::vector<std::string> fields{"epochs", "max_steps", "log_every", "eval_every_steps",
                                               "checkpoint_every_steps", "check_parameters_every",
                                               "keep_epoch_checkpoints", "early_stopping_patience", "eval_batch_size",
                                               "max_nonfinite_steps", "allreduce_bucket_mb", "allreduce_overlap"};
  return fields;
}

// The config of a new run, or of the run being resumed; refuses the two ways of choosing on test
// by accident.
ResolvedConfig resolve_run_config(const TrainOptions& options, const MessageSink& messages) {
  namespace fs = std::filesystem;
  if (options.out.empty()) fail("train: --out RUN_DIR is required");
  const std::string last_path = options.out + "/last.safetensors";
  if (options.resume && !fs::exists(last_path))
    fail("train --resume: {} does not exist (nothing to resume in {})", last_path, options.out);
  if (!options.resume && fs::exists(last_path))
    fail("train: {} already holds a run; pass --resume to continue it, or choose a new --out", options.out);
  ResolvedConfig resolved =
      options.resume ? resolve_resumed_config(options, read_safetensors_header(last_path).metadata, messages)
                     : resolve_config(options.config.empty() ? "enhanced-small" : options.config, options.overrides);
  if (resolved.training.selects_on_test() && !options.select_on_test)
    fail("train: the config chooses the checkpoint on the test split (checkpoint_selection = \"test\", the published "
         "SwarmFormer protocol), which makes the test accuracy optimistic; pass --select-on-test to confirm that this "
         "is what you want");
  if (!resolved.training.selects_on_test() && options.select_on_test)
    fail("train: --select-on-test was given, but the config chooses on validation; set checkpoint_selection=test too "
         "(both are needed, so that neither happens by accident)");
  return resolved;
}

// Loads the encoder tensors of `path` whose names are parameters of `model` (shapes checked), and
// leaves the task heads (classifier.*, mlm_head.*) and whatever the file lacks as initialized; says
// what was loaded, what is new and what the file holds unused.
nlohmann::json initialize_from(SwarmFormer& model, const std::string& path, const MessageSink& messages) {
  const SafetensorsFile file = load_safetensors(path);
  const nlohmann::json stored = file.metadata.value("config", nlohmann::json()).value("model", nlohmann::json());
  if (stored.is_object() && stored.value("variant", model.config().variant) != model.config().variant)
    fail("--init-from {}: it holds an {} SwarmFormer, but this run trains the {} variant", path,
         stored.value("variant", std::string()), model.config().variant);
  const auto is_head = [](const std::string& name) { return name.rfind("classifier.", 0) == 0 || name.rfind("mlm_head.", 0) == 0; };
  NamedTensors destinations;
  std::vector<std::string> fresh;
  for (auto& [name, parameter] : model.named_parameters()) {
    if (is_head(name)) fresh.push_back(name);
    else destinations.emplace_back(name, parameter.data());
  }
  const LoadReport loaded = load_into(file, destinations, /*strict=*/false, path);  // shape mismatches throw, all listed
  for (auto& [name, parameter] : model.named_parameters()) parameter.data().bump_version();
  fresh.insert(fresh.end(), loaded.missing.begin(), loaded.missing.end());
  std::vector<std::string> unused;
  for (const std::string& name : loaded.unexpected)
    if (name.rfind("optimizer.", 0) != 0 && name.rfind("ema.", 0) != 0) unused.push_back(name);
  const std::int64_t count = static_cast<std::int64_t>(destinations.size() - loaded.missing.size());
  if (count == 0) fail("--init-from {}: none of its tensors is an encoder parameter of this model", path);
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << stream.rdbuf();
  const std::string hash = fmt::format("{:016x}", detail::fnv1a(bytes.str()));
  tell(messages, fmt::format("init-from {} (fnv1a64 {}): loaded {} tensors; new: {}; unused: {}", path, hash, count,
                             fresh.empty() ? "none" : fmt::format("{}", fmt::join(fresh, ", ")),
                             unused.empty() ? "none" : fmt::format("{}", fmt::join(unused, ", "))));
  return {{"path", path}, {"fnv1a64", hash}, {"loaded", count}, {"new", fresh}, {"unused", unused}};
}


}  // namespace sf::detail
