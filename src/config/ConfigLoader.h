#pragma once
#include <string>
#include <vector>

#include "config/TrainConfig.h"

namespace seg {

// Loads a YAML config, applies `key.path=value` overrides (from --set), fills
// defaults and checks every key, type and range. Throws ConfigError whose message
// reads "file:line:col: dotted.key: what was expected" (or "--set a.b=c: ..." for
// an override). Unknown keys are errors listing the known ones.
TrainConfig loadTrainConfig(const std::string& path,
                            const std::vector<std::string>& overrides = {});

// Same, from YAML text (source names it in messages; used by tests and checkpoints).
TrainConfig parseTrainConfig(const std::string& yamlText, const std::string& source,
                             const std::vector<std::string>& overrides = {});

// The resolved config as YAML with every key present; parseTrainConfig of this
// text gives back an equal config.
std::string toYaml(const TrainConfig& config);

}  // namespace seg
