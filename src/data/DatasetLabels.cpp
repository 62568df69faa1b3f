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
using nlohmann::ordered_json;

namespace {

void checkLabels(const std::map<int, std::string>& labels, const std::string& where) {
  if (labels.empty()) throw InputError(where + ": no labels");
  if (labels.begin()->first != 0) throw InputError(where + ": label 0 (background) is missing");
  if (labels.rbegin()->first > 255) {
    throw InputError(where + ": label index " + std::to_string(labels.rbegin()->first) + " exceeds 255");
  }
}

int nonNegativeInt(const ordered_json& value, const std::string& where) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 255) {
    throw InputError(where + ": expected an integer label value in [0, 255], got " + value.dump());
  }
  return value.get<int>();
}

// nnU-Net v2's form: {"name": index}, or with regions {"name": [indices]} (a single index is
// then a region of one value), and "ignore": index. nnunetv2/utilities/label_handling:
// LabelManager treats an entry as a region when any entry is a list (or has_regions).
LabelSpec nameToIndex(const ordered_json& node, const ordered_json& classOrder, const std::string& where) {
  if (!node.is_object()) throw InputError(where + ": expected an object {\"name\": index}");
  LabelSpec spec;
  bool regions = false;
  for (auto it = node.begin(); it != node.end(); ++it) regions = regions || it.value().is_array();
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = where + "." + it.key();
    if (it.key() == "ignore") {
      spec.ignoreLabel = nonNegativeInt(it.value(), key);
      if (spec.ignoreLabel == 0) throw InputError(key + ": the ignore label cannot be 0 (background)");
      continue;
    }
    std::vector<int> values;
    if (it.value().is_array()) {
      for (const ordered_json& v : it.value()) values.push_back(nonNegativeInt(v, key));
      if (values.empty()) throw InputError(key + ": a region needs at least one label value");
    } else {
      values.push_back(nonNegativeInt(it.value(), key));
    }
    std::sort(values.begin(), values.end());
    if (std::adjacent_find(values.begin(), values.end()) != values.end()) {
      throw InputError(key + ": a label value is listed twice");
    }
    if (regions && !(values.size() == 1 && values[0] == 0)) {
      if (values.front() == 0) throw InputError(key + ": a region cannot contain 0 (background)");
      spec.regions.push_back({it.key(), values});
      for (int v : values) {
        auto& name = spec.classes[v];
        if (values.size() == 1) name = it.key();
      }
      continue;
    }
    const int index = values[0];
    if (spec.classes.count(index)) {
      throw InputError(where + ": index " + std::to_string(index) + " is used by '" + spec.classes[index] + "' and '" +
                       it.key() + "'");
    }
    spec.classes.emplace(index, it.key());
  }
  if (spec.ignoreLabel >= 0) {
    if (spec.classes.count(spec.ignoreLabel)) {
      throw InputError(where + ".ignore: " + std::to_string(spec.ignoreLabel) + " is also a class or region value");
    }
    if (!spec.classes.empty() && spec.classes.rbegin()->first > spec.ignoreLabel) {
      throw InputError(where + ".ignore: the ignore label must be the highest label value (nnU-Net's rule), got " +
                       std::to_string(spec.ignoreLabel) + " below " + std::to_string(spec.classes.rbegin()->first));
    }
  }
  if (regions) {
    const std::string orderKey = where.substr(0, where.rfind(": labels")) + ": regions_class_order";
    if (classOrder.is_null()) {
      throw InputError(orderKey + ": required with region labels (the value each region is painted with)");
    }
    if (!classOrder.is_array() || classOrder.size() != spec.regions.size()) {
      throw InputError(orderKey + ": expected a list of " + std::to_string(spec.regions.size()) +
                       " label values (one per region), got " + classOrder.dump());
    }
    for (const ordered_json& v : classOrder) {
      const int value = nonNegativeInt(v, orderKey);
      if (value == 0) throw InputError(orderKey + ": 0 is background, not a region's value");
      spec.regionsClassOrder.push_back(value);
    }
  }
  return spec;
}

std::map<int, std::string> indexToName(const ordered_json& node, const std::string& where) {
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

LabelSpec parseLabelSpec(const ordered_json& labels, const ordered_json& regionsClassOrder, LabelsForm form,
                         const std::string& where) {
  LabelSpec spec;
  if (form == LabelsForm::NameToIndex) {
    spec = nameToIndex(labels, regionsClassOrder, where);
  } else {
    spec.classes = indexToName(labels, where);
  }
  checkLabels(spec.classes, where);
  return spec;
}

std::map<int, std::string> parseDatasetLabels(const json& labels, LabelsForm form, const std::string& where) {
  LabelSpec spec = parseLabelSpec(ordered_json::parse(labels.dump()), ordered_json(), form, where);
  if (!spec.regions.empty()) throw InputError(where + ": region labels are not expected here");
  if (spec.ignoreLabel >= 0) throw InputError(where + ": an ignore label is not expected here");
  return spec.classes;
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
    ordered_json doc;
    try {
      std::ifstream in(candidate);
      doc = ordered_json::parse(in);
    } catch (const json::exception& e) {
      throw InputError(file + ": invalid JSON: " + e.what());
    }
    if (!doc.is_object() || !doc.contains("labels") || !doc["labels"].is_object()) {
      throw InputError(file + ": no \"labels\" object");
    }
    const ordered_json& labels = doc["labels"];
    LabelsForm form = LabelsForm::IndexToName;
    if (doc.contains("channel_names")) {
      form = LabelsForm::NameToIndex;
    } else if (!doc.contains("training") && !doc.contains("modality") && !labels.empty() &&
               !labels.begin()->is_string()) {
      form = LabelsForm::NameToIndex;
    }
    const ordered_json order = doc.contains("regions_class_order") ? doc["regions_class_order"] : ordered_json();
    const LabelSpec spec = parseLabelSpec(labels, order, form, file + ": labels");
    out.numClasses = spec.classes.rbegin()->first + 1;
    out.names.assign(static_cast<size_t>(out.numClasses), "");
    for (const auto& [index, name] : spec.classes) out.names[static_cast<size_t>(index)] = name;
    out.regions = spec.regions;
    out.regionsClassOrder = spec.regionsClassOrder;
    out.ignoreLabel = spec.ignoreLabel;
    out.path = file;
    return out;
  }
  return out;
}

}  // namespace seg
