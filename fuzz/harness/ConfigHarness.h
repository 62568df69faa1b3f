#pragma once
// One fuzz input for the config loader, shared by fuzz/config_fuzzer.cpp (libFuzzer) and
// tests/unit/config/FuzzRegressionTest.cpp (the checked-in corpus and every finding).
//
// Input: YAML text; after an optional NUL byte, one `--set key=value` override per line.
// Contract checked: the loader either returns a config or throws InputError (anything else
// escapes and is a finding), and an accepted config survives the round trip through the
// resolved YAML that segtrain stores in the run directory and in checkpoints (a resumed run
// parses it again), giving the same resolved YAML.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "config/ConfigLoader.h"
#include "core/Error.h"

namespace seg::fuzz {

// Returns false (after printing why) when the round-trip property fails.
inline bool runConfigInput(const std::string& input) {
  const size_t nul = input.find('\0');
  const std::string yaml = input.substr(0, nul);
  std::vector<std::string> overrides;
  if (nul != std::string::npos) {
    std::string rest = input.substr(nul + 1);
    size_t start = 0;
    while (start <= rest.size() && overrides.size() < 8) {
      const size_t end = rest.find('\n', start);
      overrides.push_back(rest.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  TrainConfig config;
  try {
    config = parseTrainConfig(yaml, "fuzz.yaml", overrides);
  } catch (const InputError&) {
    return true;  // a clear refusal is the expected outcome for most inputs
  }
  const std::string resolved = toYaml(config);
  std::string again;
  try {
    // Same source name: the resolved text names its source in a comment.
    again = toYaml(parseTrainConfig(resolved, "fuzz.yaml"));
  } catch (const InputError& e) {
    std::cerr << "resolved config does not load again: " << e.what() << "\n--- resolved:\n" << resolved;
    return false;
  }
  if (again != resolved) {
    std::cerr << "resolved config changes on a second round trip\n--- first:\n" << resolved << "--- second:\n" << again;
    return false;
  }
  return true;
}

}  // namespace seg::fuzz
