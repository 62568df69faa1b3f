#pragma once
// `segdata check`: reads every case of a dataset as training would (whole files, so
// NaN/Inf and truncated data are found) and lists every problem at once instead of
// stopping at the first.
#include <cstddef>
#include <string>
#include <vector>

#include "data/Dataset.h"

namespace seg {

// The problems of one case, each "case <id>: ..." naming the file: unreadable files,
// channels on different grids, a channel count that differs from dataset.json, a label
// on another grid than the images, label values dataset.json does not declare (its
// classes, region values and ignore label are declared). Empty
// when the case is fine. Read errors become problems; they are not thrown.
std::vector<std::string> checkCase(const DatasetManifest& manifest, const CaseEntry& entry);

struct DatasetCheck {
  std::vector<std::string> problems;  // in case order, training cases first
  size_t casesChecked = 0;
};

// checkCase over the training and the test cases.
DatasetCheck checkDataset(const DatasetManifest& manifest);

}  // namespace seg
