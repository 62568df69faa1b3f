#include "data/Dataset.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/Error.h"
#include "core/Log.h"
#include "data/DatasetLabels.h"

namespace seg {
namespace fs = std::filesystem;
// Ordered: dataset.json's region entries keep the file's order (nnU-Net reads it into a dict).
using json = nlohmann::ordered_json;

namespace {

bool endsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool isAllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// "_0003" for channel 3.
std::string channelSuffix(size_t channel) {
  char text[32];
  std::snprintf(text, sizeof(text), "_%04zu", channel);
  return text;
}

std::string jsonPath(const std::string& root) { return (fs::path(root) / "dataset.json").string(); }

const json& require(const json& doc, const std::string& key, const std::string& file) {
  auto it = doc.find(key);
  if (it == doc.end()) throw InputError(file + ": missing key '" + key + "'");
  return *it;
}

// {"0": "CT", "1": "T2"} -> {"CT", "T2"}; indices must be 0..C-1.
std::vector<std::string> readChannelNames(const json& node, const std::string& where) {
  if (!node.is_object() || node.empty()) throw InputError(where + ": expected a non-empty object {\"0\": name}");
  std::map<int, std::string> byIndex;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const int index = parseLabelIndex(it.key(), where);
    byIndex[index] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
  }
  std::vector<std::string> names;
  for (const auto& [index, name] : byIndex) {
    if (index != static_cast<int>(names.size())) {
      throw InputError(where + ": channel indices must be 0.." + std::to_string(byIndex.size() - 1) +
                       ", channel " + std::to_string(names.size()) + " is missing");
    }
    names.push_back(name);
  }
  return names;
}

std::vector<std::string> sortedFileNames(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    // Hidden files include our own temporaries (.x.tmp-123.nii.gz) and macOS "._x" litter.
    if (name.empty() || name[0] == '.') continue;
    if (!entry.is_directory()) names.push_back(name);
  }
  if (ec) throw InputError(dir.string() + ": cannot list folder: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

// nnU-Net v2 discovery: images/<case>_<cccc><ending>, labels/<case><ending>.
std::vector<CaseEntry> discoverCases(const fs::path& imagesDir, const fs::path& labelsDir, size_t numChannels,
                                     const std::string& ending, bool labelsRequired) {
  std::map<std::string, std::set<int>> channelsByCase;
  for (const std::string& name : sortedFileNames(imagesDir)) {
    if (!endsWith(name, ending)) continue;
    const std::string stem = name.substr(0, name.size() - ending.size());
    const size_t underscore = stem.rfind('_');
    const std::string suffix = underscore == std::string::npos ? "" : stem.substr(underscore + 1);
    if (underscore == std::string::npos || suffix.size() != 4 || !isAllDigits(suffix)) {
      throw InputError((imagesDir / name).string() +
                       ": image file name must end in _<4-digit channel>" + ending + " (nnU-Net v2 layout)");
    }
    channelsByCase[stem.substr(0, underscore)].insert(std::stoi(suffix));
  }
  const bool haveLabels = fs::is_directory(labelsDir);
  std::vector<CaseEntry> cases;
  for (const auto& [id, channels] : channelsByCase) {
    CaseEntry entry;
    entry.id = id;
    for (size_t c = 0; c < numChannels; ++c) {
      const std::string suffix = channelSuffix(c);
      if (!channels.count(static_cast<int>(c))) {
        throw InputError("case " + id + ": missing channel " + std::to_string(c) + " image " +
                         (imagesDir / (id + suffix + ending)).string());
      }
      entry.images.push_back((imagesDir / (id + suffix + ending)).string());
    }
    if (*channels.rbegin() >= static_cast<int>(numChannels)) {
      throw InputError("case " + id + ": has a channel " + std::to_string(*channels.rbegin()) +
                       " image but dataset.json declares " + std::to_string(numChannels) + " channel(s)");
    }
    const fs::path label = labelsDir / (id + ending);
    if (haveLabels && fs::exists(label)) {
      entry.label = label.string();
    } else if (labelsRequired) {
      throw InputError("case " + id + ": label file not found: " + label.string());
    } else if (haveLabels) {
      logger("data")->warn("test case {} has no label in {}", id, labelsDir.string());
    }
    cases.push_back(std::move(entry));
  }
  if (labelsRequired && haveLabels) {
    for (const std::string& name : sortedFileNames(labelsDir)) {
      if (endsWith(name, ending) && !channelsByCase.count(name.substr(0, name.size() - ending.size()))) {
        throw InputError("case " + name.substr(0, name.size() - ending.size()) + ": label " +
                         (labelsDir / name).string() + " has no image in " + imagesDir.string());
      }
    }
  }
  return cases;
}

// Resolves "./imagesTr/x.nii.gz" against root.
std::string resolve(const std::string& root, const std::string& relative) {
  const fs::path p(relative);
  return (p.is_absolute() ? p : (fs::path(root) / p)).lexically_normal().string();
}

std::string endingOf(const std::string& path) {
  if (endsWith(path, ".nii.gz")) return ".nii.gz";
  if (endsWith(path, ".nii")) return ".nii";
  return fs::path(path).extension().string();
}

// MSD lists one 4D file per case. nnU-Net v1 kept that list but stored one file
// per channel (x_0000.nii.gz, ...); accept both.
CaseEntry msdCase(const std::string& root, const std::string& imageRel, const std::string& labelRel,
                  size_t numChannels, const std::string& where) {
  CaseEntry entry;
  const std::string image = resolve(root, imageRel);
  entry.id = caseIdFromFile(image, false);
  if (fs::exists(image)) {
    entry.images.push_back(image);
  } else {
    const std::string ending = endingOf(image);
    const std::string base = image.substr(0, image.size() - ending.size());
    for (size_t c = 0; c < numChannels; ++c) {
      const std::string suffix = channelSuffix(c);
      if (!fs::exists(base + suffix + ending)) {
        throw InputError(where + ": case " + entry.id + ": image file not found: " + image);
      }
      entry.images.push_back(base + suffix + ending);
    }
  }
  if (!labelRel.empty()) {
    entry.label = resolve(root, labelRel);
    if (!fs::exists(entry.label)) {
      throw InputError(where + ": case " + entry.id + ": label file not found: " + entry.label);
    }
  }
  return entry;
}

std::string stringField(const json& item, const std::string& key, const std::string& where) {
  auto it = item.find(key);
  if (it == item.end() || !it->is_string()) throw InputError(where + ": expected a string '" + key + "'");
  return it->get<std::string>();
}

void checkNumTraining(const json& doc, size_t found, const std::string& file) {
  auto it = doc.find("numTraining");
  if (it == doc.end()) return;
  if (!it->is_number_integer()) throw InputError(file + ": numTraining: expected an integer");
  if (it->get<int64_t>() != static_cast<int64_t>(found)) {
    throw InputError(file + ": numTraining is " + std::to_string(it->get<int64_t>()) + " but " +
                     std::to_string(found) + " training cases were found");
  }
}

void loadNnUNet(const json& doc, DatasetManifest& m, const std::string& file) {
  m.channelNames = readChannelNames(doc["channel_names"], file + ": channel_names");
  const json order = doc.contains("regions_class_order") ? doc["regions_class_order"] : json();
  LabelSpec spec = parseLabelSpec(require(doc, "labels", file), order, LabelsForm::NameToIndex, file + ": labels");
  m.labels = std::move(spec.classes);
  m.regions = std::move(spec.regions);
  m.regionsClassOrder = std::move(spec.regionsClassOrder);
  m.ignoreLabel = spec.ignoreLabel;
  const json& ending = require(doc, "file_ending", file);
  if (!ending.is_string() || ending.get<std::string>().empty()) {
    throw InputError(file + ": file_ending: expected a string like \".nii.gz\"");
  }
  m.fileEnding = ending.get<std::string>();
  if (!doc.contains("numTraining")) throw InputError(file + ": missing key 'numTraining'");
  const fs::path root(m.root);
  if (!fs::is_directory(root / "imagesTr")) throw InputError(m.root + ": folder imagesTr/ not found");
  m.training = discoverCases(root / "imagesTr", root / "labelsTr", m.channelNames.size(), m.fileEnding, true);
  checkNumTraining(doc, m.training.size(), file);
  if (fs::is_directory(root / "imagesTs")) {
    m.test = discoverCases(root / "imagesTs", root / "labelsTs", m.channelNames.size(), m.fileEnding, false);
  }
}

void loadMsd(const json& doc, DatasetManifest& m, const std::string& file) {
  m.channelNames = readChannelNames(require(doc, "modality", file), file + ": modality");
  m.labels = parseLabelSpec(require(doc, "labels", file), json(), LabelsForm::IndexToName, file + ": labels").classes;
  const json& training = require(doc, "training", file);
  if (!training.is_array()) throw InputError(file + ": training: expected a list of {image, label}");
  for (size_t i = 0; i < training.size(); ++i) {
    const std::string where = file + ": training[" + std::to_string(i) + "]";
    if (!training[i].is_object()) throw InputError(where + ": expected {\"image\": ..., \"label\": ...}");
    m.training.push_back(msdCase(m.root, stringField(training[i], "image", where),
                                 stringField(training[i], "label", where), m.channelNames.size(), where));
  }
  checkNumTraining(doc, m.training.size(), file);
  if (!m.training.empty()) m.fileEnding = endingOf(m.training.front().label);
  auto test = doc.find("test");
  if (test != doc.end()) {
    if (!test->is_array()) throw InputError(file + ": test: expected a list");
    for (size_t i = 0; i < test->size(); ++i) {
      const std::string where = file + ": test[" + std::to_string(i) + "]";
      const json& item = (*test)[i];
      // MSD lists test images as plain strings; some converters write {image[, label]}.
      const std::string image = item.is_string() ? item.get<std::string>() : stringField(item, "image", where);
      std::string label = item.is_object() && item.contains("label") ? stringField(item, "label", where) : "";
      if (label.empty()) {
        const fs::path guess = fs::path(m.root) / "labelsTs" / fs::path(image).filename();
        if (fs::exists(guess)) label = guess.string();
      }
      m.test.push_back(msdCase(m.root, image, label, m.channelNames.size(), where));
    }
  }
}

void checkUniqueIds(const std::vector<CaseEntry>& cases, const std::string& file) {
  for (size_t i = 1; i < cases.size(); ++i) {
    if (cases[i].id == cases[i - 1].id) throw InputError(file + ": case " + cases[i].id + " is listed twice");
  }
}

}  // namespace

int DatasetManifest::numClasses() const { return labels.empty() ? 0 : labels.rbegin()->first + 1; }

DatasetManifest loadDataset(const std::string& root) {
  const std::string file = jsonPath(root);
  if (!fs::is_directory(root)) throw InputError("dataset folder not found: " + root);
  std::ifstream in(file);
  if (!in) throw InputError(file + ": not found (expected an nnU-Net / MSD dataset.json)");
  json doc;
  try {
    in >> doc;
  } catch (const json::parse_error& e) {
    throw InputError(file + ": invalid JSON: " + e.what());
  }
  if (!doc.is_object()) throw InputError(file + ": expected a JSON object at the top level");

  DatasetManifest m;
  m.root = root;
  m.name = doc.contains("name") && doc["name"].is_string() ? doc["name"].get<std::string>()
                                                            : fs::path(root).lexically_normal().filename().string();
  try {
    if (doc.contains("channel_names")) {
      loadNnUNet(doc, m, file);
    } else if (doc.contains("training")) {
      loadMsd(doc, m, file);
    } else {
      throw InputError(file + ": neither nnU-Net v2 ('channel_names') nor MSD ('modality', 'training') keys found");
    }
  } catch (const json::exception& e) {
    throw InputError(file + ": " + e.what());
  }
  if (m.training.empty()) throw InputError(file + ": no training cases");
  auto byId = [](const CaseEntry& a, const CaseEntry& b) { return a.id < b.id; };
  std::sort(m.training.begin(), m.training.end(), byId);
  std::sort(m.test.begin(), m.test.end(), byId);
  checkUniqueIds(m.training, file);
  checkUniqueIds(m.test, file);
  logger("data")->debug("{}: {} training, {} test cases, {} channel(s), {} classes", m.name, m.training.size(),
                        m.test.size(), m.channelNames.size(), m.numClasses());
  return m;
}

DatasetManifest manifestFromList(std::vector<CaseEntry> cases, const std::vector<std::string>& labelNames,
                                 const std::string& root) {
  const std::string where = "data.cases";
  if (cases.empty()) throw InputError(where + ": no cases");
  if (labelNames.size() < 2) throw InputError("data.labels: need background and at least one class");
  DatasetManifest m;
  m.root = root;
  m.name = "case list";
  for (size_t i = 0; i < labelNames.size(); ++i) m.labels[static_cast<int>(i)] = labelNames[i];
  auto resolved = [&](const std::string& path) { return root.empty() ? path : resolve(root, path); };
  for (size_t i = 0; i < cases.size(); ++i) {
    CaseEntry& c = cases[i];
    const std::string item = where + "[" + std::to_string(i) + "]";
    if (c.images.empty()) throw InputError(item + ": no images");
    for (auto& image : c.images) image = resolved(image);
    if (c.id.empty()) c.id = caseIdFromFile(c.images.front(), true);
    for (const auto& image : c.images) {
      if (!fs::exists(image)) throw InputError(item + ": case " + c.id + ": image file not found: " + image);
    }
    if (c.label.empty()) throw InputError(item + ": case " + c.id + ": no label");
    c.label = resolved(c.label);
    if (!fs::exists(c.label)) throw InputError(item + ": case " + c.id + ": label file not found: " + c.label);
    if (c.images.size() != cases.front().images.size()) {
      throw InputError(item + ": case " + c.id + " lists " + std::to_string(c.images.size()) + " image file(s), case " +
                       cases.front().id + " lists " + std::to_string(cases.front().images.size()));
    }
  }
  for (size_t c = 0; c < cases.front().images.size(); ++c) m.channelNames.push_back("channel " + std::to_string(c));
  m.fileEnding = endingOf(cases.front().label);
  m.training = std::move(cases);
  std::sort(m.training.begin(), m.training.end(), [](const CaseEntry& a, const CaseEntry& b) { return a.id < b.id; });
  checkUniqueIds(m.training, where);
  return m;
}

std::string caseIdFromFile(const std::string& fileName, bool stripChannel) {
  std::string name = fs::path(fileName).filename().string();
  if (endsWith(name, ".nii.gz")) {
    name.resize(name.size() - 7);
  } else if (endsWith(name, ".nii")) {
    name.resize(name.size() - 4);
  }
  if (stripChannel && name.size() > 5 && name[name.size() - 5] == '_' && isAllDigits(name.substr(name.size() - 4))) {
    name.resize(name.size() - 5);
  }
  return name;
}

}  // namespace seg
