#include "data/DatasetCheck.h"

#include <array>
#include <cstdint>

#include "core/Error.h"
#include "core/Image.h"
#include "data/NiftiIO.h"

namespace seg {

std::vector<std::string> checkCase(const DatasetManifest& m, const CaseEntry& c) {
  std::vector<std::string> problems;
  auto problem = [&](const std::string& text) { problems.push_back("case " + c.id + ": " + text); };
  const int64_t expectedChannels = static_cast<int64_t>(m.channelNames.size());
  int64_t channels = 0;
  bool haveGrid = false;
  ImageGeometry grid;
  for (const std::string& image : c.images) {
    // The whole file, as training reads it (non-finite values, truncation).
    Volume volume;
    try {
      volume = readImage(image);
    } catch (const InputError& e) {
      problem(e.what());
      continue;
    }
    channels += volume.channels;
    if (!haveGrid) {
      grid = volume.geometry;
      haveGrid = true;
    } else if (!grid.sameGrid(volume.geometry)) {
      problem(image + ": grid " + volume.geometry.describeSize() + " differs from channel 0 " + grid.describeSize() +
              " (size, spacing, origin or direction)");
    }
  }
  if (haveGrid && channels != expectedChannels) {
    problem(std::to_string(channels) + " channel(s) but dataset.json declares " + std::to_string(expectedChannels));
  }
  if (c.label.empty()) return problems;
  LabelVolume label;
  try {
    label = readLabel(c.label);
  } catch (const InputError& e) {
    problem(e.what());
    return problems;
  }
  if (haveGrid && !grid.sameGrid(label.geometry)) {
    problem(c.label + ": label grid " + label.geometry.describeSize() + " does not match the image grid " +
            grid.describeSize() + " (size, spacing, origin or direction)");
  }
  std::array<bool, 256> seen{};
  for (uint8_t v : label.data) seen[v] = true;
  std::string unknown;
  for (int v = 0; v < 256; ++v) {
    // The ignore label (dataset.json "ignore") marks unannotated voxels: declared, no class.
    if (seen[v] && !m.labels.count(v) && v != m.ignoreLabel) unknown += (unknown.empty() ? "" : ", ") + std::to_string(v);
  }
  if (!unknown.empty()) problem(c.label + ": label values {" + unknown + "} are not declared in dataset.json labels");
  return problems;
}

DatasetCheck checkDataset(const DatasetManifest& m) {
  DatasetCheck result;
  for (const auto* list : {&m.training, &m.test}) {
    for (const CaseEntry& c : *list) {
      std::vector<std::string> problems = checkCase(m, c);
      result.problems.insert(result.problems.end(), problems.begin(), problems.end());
      ++result.casesChecked;
    }
  }
  return result;
}

}  // namespace seg
