#include "data/DatasetLabels.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/Error.h"

namespace seg {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void checkLabels(const std::map<int, std::string>& labels, const std::string& where) {
  if (labels.empty()) throw InputError(where + ": no labels");
  if (labels.begin()->first != 0) throw InputError(where + ": label 0 (background) is missing");
  if (labels.rbegin()->first > 255) {
    throw InputError(where + ": label index " + std::to_string(labels.rbegin()->first) + " exceeds 255");
  }
}

std::map<int, std::string> nameToIndex(const json& node, const std::string& where) {
  if (!node.is_object()) throw InputError(where + ": expected an object {\"name\": index}");
  std::map<int, std::string> labels;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it.value().is_array()) {
      throw InputError(where + "." + it.key() + ": region-based labels (lists of indices) are not supported");
    }
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0) {
      throw InputError(where + "." + it.key() + ": expected a non-negative integer, got " + it.value().dump());
    }
    const int index = it.value().get<int>();
    if (!labels.emplace(index, it.key()).second) {
      throw InputError(where + ": index " + std::to_string(index) + " is used by '" + labels[index] + "' and '" +
                       it.key() + "'");
    }
  }
  return labels;
}

std::map<int, std::string> indexToName(const json& node, const std::string& where) {
  if (!node.is_object()) throw InputError(where + ": expected an object {\"index\": name}");
  std::map<int, std::string> labels;
  for (auto it = node.begin(); it != node.end(); ++it) {
    labels[parseLabelIndex(it.key(), where)] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
  }
  return labels;
}

}  // namespace

int parseLabelIndex(const std::string& text, const std::string& where) {
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
  if (!digits || text.size() > 6) {
    throw InputError(where + ": expected a non-negative integer index, got '" + text + "'");
  }
  return std::stoi(text);
}

std::map<int, std::string> parseDatasetLabels(const json& labels, LabelsForm form, const std::string& where) {
  std::map<int, std::string> out = form == LabelsForm::NameToIndex ? nameToIndex(labels, where) : indexToName(labels, where);
  checkLabels(out, where);
  return out;
}

DatasetLabels findDatasetLabels(const std::string& labelsPath) {
  DatasetLabels out;
  std::error_code ec;
  fs::path dir = fs::is_directory(labelsPath, ec) ? fs::path(labelsPath) : fs::path(labelsPath).parent_path();
  dir = fs::absolute(dir, ec).lexically_normal();
  if (!dir.empty() && dir.filename().empty()) dir = dir.parent_path();  // trailing slash
  for (const fs::path& candidate : {dir / "dataset.json", dir.parent_path() / "dataset.json"}) {
    if (!fs::is_regular_file(candidate, ec)) continue;
    const std::string file = candidate.string();
    json doc;
    try {
      std::ifstream in(candidate);
      doc = json::parse(in);
    } catch (const json::exception& e) {
      throw InputError(file + ": invalid JSON: " + e.what());
    }
    if (!doc.is_object() || !doc.contains("labels") || !doc["labels"].is_object()) {
      throw InputError(file + ": no \"labels\" object");
    }
    const json& labels = doc["labels"];
    LabelsForm form = LabelsForm::IndexToName;
    if (doc.contains("channel_names")) {
      form = LabelsForm::NameToIndex;
    } else if (!doc.contains("training") && !doc.contains("modality") && !labels.empty() &&
               !labels.begin()->is_string()) {
      form = LabelsForm::NameToIndex;
    }
    const std::map<int, std::string> names = parseDatasetLabels(labels, form, file + ": labels");
    out.numClasses = names.rbegin()->first + 1;
    out.names.assign(static_cast<size_t>(out.numClasses), "");
    for (const auto& [index, name] : names) out.names[static_cast<size_t>(index)] = name;
    out.path = file;
    return out;
  }
  return out;
}

}  // namespace seg
