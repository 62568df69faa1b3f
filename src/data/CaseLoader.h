#pragma once
// Reads dataset cases into memory (all channels, label, geometry checks) with a
// pool of threads: decoding .nii.gz is the slow part of a cold start.
#include <string>
#include <vector>

#include "core/Image.h"
#include "data/Dataset.h"
#include "data/Preprocess.h"

namespace seg {

struct LoadedCase {
  std::string id;
  Volume image;        // normalised, channels stacked
  LabelVolume label;   // empty data when the case has no label
};

// One case: every channel file must share the grid of the first; the label must
// share it too and hold values < numClasses. Errors name the case and file.
LoadedCase loadCase(const CaseEntry& entry, Normalization normalization, int numClasses);

// All cases, in order, decoded by up to `threads` threads.
std::vector<LoadedCase> loadCases(const std::vector<CaseEntry>& entries, Normalization normalization,
                                  int numClasses, int threads);

}  // namespace seg
