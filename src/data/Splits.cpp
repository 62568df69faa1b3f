#include "data/Splits.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/Error.h"
#include "core/Random.h"

namespace seg {
using nlohmann::json;

Split splitFolds(const std::vector<CaseEntry>& cases, int numFolds, int fold, uint64_t seed) {
  if (numFolds < 2) throw InputError("splitFolds: number of folds must be at least 2, got " + std::to_string(numFolds));
  if (fold < 0 || fold >= numFolds) {
    throw InputError("splitFolds: fold " + std::to_string(fold) + " out of range [0, " + std::to_string(numFolds) + ")");
  }
  if (cases.size() < static_cast<size_t>(numFolds)) {
    throw InputError("splitFolds: " + std::to_string(cases.size()) + " cases cannot fill " +
                     std::to_string(numFolds) + " folds");
  }
  // Shuffle a sorted copy so the split depends on the ids, not the caller's order.
  std::vector<CaseEntry> order = cases;
  std::sort(order.begin(), order.end(), [](const CaseEntry& a, const CaseEntry& b) { return a.id < b.id; });
  // Fisher-Yates on std::mt19937_64 (core/Random.h Mt64Rng): the same split with every
  // standard library.
  Mt64Rng rng(seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  Split split;
  for (size_t i = 0; i < order.size(); ++i) {
    (static_cast<int>(i % numFolds) == fold ? split.val : split.train).push_back(order[i]);
  }
  auto byId = [](const CaseEntry& a, const CaseEntry& b) { return a.id < b.id; };
  std::sort(split.train.begin(), split.train.end(), byId);
  std::sort(split.val.begin(), split.val.end(), byId);
  return split;
}

Split splitFromFile(const std::string& path, const std::vector<CaseEntry>& cases, int fold) {
  std::ifstream in(path);
  if (!in) throw InputError("data.split_file: cannot open " + path);
  json doc;
  try {
    in >> doc;
  } catch (const json::parse_error& e) {
    throw InputError(path + ": invalid JSON: " + e.what());
  }
  if (!doc.is_array() || doc.empty()) {
    throw InputError(path + ": expected a list with one {\"train\": [...], \"val\": [...]} per fold (nnU-Net splits_final.json)");
  }
  if (fold < 0 || fold >= static_cast<int>(doc.size())) {
    throw InputError(path + ": data.fold " + std::to_string(fold) + " is out of range: the file has " +
                     std::to_string(doc.size()) + " fold(s)");
  }
  const json& entry = doc[static_cast<size_t>(fold)];
  const std::string where = path + ": fold " + std::to_string(fold);
  if (!entry.is_object()) throw InputError(where + ": expected {\"train\": [...], \"val\": [...]}");
  std::map<std::string, const CaseEntry*> byId;
  for (const CaseEntry& c : cases) byId[c.id] = &c;
  std::set<std::string> used;
  Split split;
  for (const char* key : {"train", "val"}) {
    auto it = entry.find(key);
    if (it == entry.end() || !it->is_array()) throw InputError(where + ": missing list '" + key + "'");
    for (const json& id : *it) {
      if (!id.is_string()) throw InputError(where + ": " + key + ": expected case ids (strings), got " + id.dump());
      const std::string name = id.get<std::string>();
      const auto found = byId.find(name);
      if (found == byId.end()) throw InputError(where + ": " + key + ": case '" + name + "' is not a training case");
      if (!used.insert(name).second) throw InputError(where + ": case '" + name + "' is listed twice");
      (std::string(key) == "train" ? split.train : split.val).push_back(*found->second);
    }
  }
  if (split.train.empty()) throw InputError(where + ": no training cases");
  auto byIdOrder = [](const CaseEntry& a, const CaseEntry& b) { return a.id < b.id; };
  std::sort(split.train.begin(), split.train.end(), byIdOrder);
  std::sort(split.val.begin(), split.val.end(), byIdOrder);
  return split;
}

}  // namespace seg
