#include "config/ConfigDiff.h"

#include <map>
#include <sstream>

#include "config/ConfigLoader.h"

namespace seg {

namespace {

// toYaml writes one key per line, nested by two spaces, values in flow style: the
// dotted path follows from the indentation alone.
std::vector<std::pair<std::string, std::string>> flatten(const std::string& yaml) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::string> path;
  std::istringstream in(yaml);
  for (std::string line; std::getline(in, line);) {
    const size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos || line[indent] == '#') continue;
    const size_t colon = line.find(':', indent);
    if (colon == std::string::npos) continue;
    path.resize(indent / 2);
    const std::string key = line.substr(indent, colon - indent);
    std::string value = colon + 1 < line.size() ? line.substr(colon + 1) : "";
    value.erase(0, value.find_first_not_of(' '));
    if (value.empty()) {
      path.push_back(key);
      continue;
    }
    std::string dotted;
    for (const auto& p : path) dotted += p + ".";
    out.emplace_back(dotted + key, value);
  }
  return out;
}

}  // namespace

std::vector<ConfigChange> configDifferences(const TrainConfig& a, const TrainConfig& b) {
  const auto left = flatten(toYaml(a));
  std::map<std::string, std::string> right;
  for (auto& [k, v] : flatten(toYaml(b))) right[k] = v;
  std::vector<ConfigChange> changes;
  for (const auto& [key, value] : left) {
    const auto other = right.find(key);
    const std::string after = other == right.end() ? "(absent)" : other->second;
    if (after != value) changes.push_back({key, value, after});
  }
  return changes;
}

}  // namespace seg
