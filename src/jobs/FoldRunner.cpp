#include "jobs/FoldRunner.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/TrainConfig.h"
#include "core/AtomicFile.h"
#include "core/Error.h"

namespace seg {

namespace fs = std::filesystem;

int foldCount(const DataConfig& data) {
  if (data.split_file.empty()) return data.num_folds;
  std::ifstream in(data.split_file);
  if (!in) throw InputError("data.split_file: cannot open '" + data.split_file + "'");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    throw InputError("data.split_file: '" + data.split_file + "' is not JSON: " + e.what());
  }
  if (!j.is_array() || j.empty()) {
    throw InputError("data.split_file: '" + data.split_file +
                     "' must be a non-empty list of {\"train\": [...], \"val\": [...]} folds");
  }
  return static_cast<int>(j.size());
}

std::vector<int> parseFoldList(const std::string& text, int numFolds) {
  const std::string usage = " (expected 'all' or fold numbers such as '0,2'; the split has " +
                            std::to_string(numFolds) + " folds)";
  std::vector<int> folds;
  if (text == "all") {
    for (int k = 0; k < numFolds; ++k) folds.push_back(k);
    return folds;
  }
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    const bool digits = !item.empty() && item.size() <= 4 &&
                        std::all_of(item.begin(), item.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (!digits) throw InputError("--folds: '" + item + "' is not a fold number" + usage);
    const int k = std::stoi(item);
    if (k >= numFolds) throw InputError("--folds: fold " + item + " is outside [0, " + std::to_string(numFolds) + ")" + usage);
    if (std::find(folds.begin(), folds.end(), k) != folds.end()) {
      throw InputError("--folds: fold " + item + " is listed twice");
    }
    folds.push_back(k);
  }
  if (folds.empty()) throw InputError("--folds: no folds in '" + text + "'" + usage);
  return folds;
}

std::string foldDir(const std::string& runDir, int fold) {
  return (fs::path(runDir) / ("fold_" + std::to_string(fold))).string();
}

FoldState foldState(const std::string& dir) {
  if (fs::exists(fs::path(dir) / "checkpoint_final.pt")) return FoldState::Done;
  if (fs::exists(fs::path(dir) / "checkpoint_latest.pt")) return FoldState::Started;
  return FoldState::Pending;
}

const char* foldStateName(FoldState state) {
  switch (state) {
    case FoldState::Done: return "done";
    case FoldState::Started: return "started";
    case FoldState::Pending: break;
  }
  return "pending";
}

void writeFoldSummary(const std::string& runDir, int numFolds) {
  nlohmann::ordered_json j;
  j["num_folds"] = numFolds;
  j["folds"] = nlohmann::ordered_json::array();
  for (int k = 0; k < numFolds; ++k) {
    nlohmann::ordered_json f;
    f["fold"] = k;
    f["dir"] = "fold_" + std::to_string(k);
    f["status"] = foldStateName(foldState(foldDir(runDir, k)));
    j["folds"].push_back(f);
  }
  writeFileAtomically((fs::path(runDir) / "folds.json").string(), j.dump(2) + "\n");
}

}  // namespace seg
