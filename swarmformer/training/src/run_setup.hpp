// How a run starts (trainer.cpp's internals): the config of a new or resumed run, with what a
// resume may change, and --init-from.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sf/swarmformer/messages.hpp"
#include "sf/swarmformer/model.hpp"
#include "sf/swarmformer/trainer.hpp"

namespace sf::detail {

// The config of a new run (options.config, default enhanced-small, plus the overrides), or of the
// run being resumed: its config.json, changed by --set only in the fields that decide when the run
// ends, logs, evaluates and saves (resumable_fields()), each change told to `messages`; a resume
// whose data, vocabulary or preset is not the run's, or whose --set touches any other field, is
// refused with the item named. Refuses the two ways of choosing on test by accident.
ResolvedConfig resolve_run_config(const TrainOptions& options, const MessageSink& messages);
const std::vector<std::string>& resumable_fields();

// --init-from: loads the encoder tensors of `path` whose names are parameters of `model`; returns
// what was loaded, what is new and what the file holds unused (and tells `messages`).
nlohmann::json initialize_from(SwarmFormer& model, const std::string& path, const MessageSink& messages);

}  // namespace sf::detail
