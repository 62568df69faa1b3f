#pragma once
// Which keys differ between two resolved configs (resume checks).
#include <string>
#include <vector>

#include "config/TrainConfig.h"

namespace seg {

struct ConfigChange {
  std::string key;     // dotted path, e.g. "train.optimizer.lr"
  std::string before;  // value text in `a`
  std::string after;   // value text in `b`
};

// Every key whose resolved value differs, in the order of toYaml.
std::vector<ConfigChange> configDifferences(const TrainConfig& a, const TrainConfig& b);

}  // namespace seg
