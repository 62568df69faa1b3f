#pragma once
// Reads dataset cases into memory (all channels, label, geometry checks) and
// preprocesses them (Preprocess.h), with a pool of threads: decoding .nii.gz is the
// slow part of a cold start.
#include <array>
#include <string>
#include <vector>

#include "core/Image.h"
#include "data/Dataset.h"
#include "data/Preprocess.h"

namespace seg {

struct LoadedCase {
  std::string id;
  Volume image;                 // preprocessed, channels stacked
  LabelVolume label;            // empty data when the case has no label
  ImageGeometry inputGeometry;  // grid of the files as read: predictions go back to it
  bool fromCache = false;       // read from options.cacheDir rather than decoded
};

// The label values a case may hold: the classes 0 .. numClasses-1 (with regions, every
// value a region uses is a class: data/DatasetLabels.h) and the ignore label, when there
// is one (it is no class). An int converts to "classes only".
struct LabelValues {
  LabelValues(int numClasses, int ignoreLabel = -1)  // NOLINT(google-explicit-constructor)
      : numClasses(numClasses), ignoreLabel(ignoreLabel) {}
  int numClasses;
  int ignoreLabel;
  bool allows(int value) const { return (value >= 0 && value < numClasses) || value == ignoreLabel; }
};

// Where a loaded label lives: on the preprocessed grid (training), or left on the
// input grid (segeval scores predictions there).
enum class LabelGrid { Preprocessed, Input };

// One case: every channel file must share the grid of the first; the label must
// share it too and hold only `labels` values. Then reorientation, resampling and, when
// `normalize`, intensity normalisation. Errors name the case and file. With
// options.cacheDir (and LabelGrid::Preprocessed) the reoriented, resampled case comes
// from the cache when its entry is current and is stored there otherwise.
LoadedCase loadCase(const CaseEntry& entry, const PreprocessOptions& options, LabelValues labels,
                    LabelGrid labelGrid = LabelGrid::Preprocessed, bool normalize = true);

// All cases, in order, by up to `threads` threads.
std::vector<LoadedCase> loadCases(const std::vector<CaseEntry>& entries, const PreprocessOptions& options,
                                  LabelValues labels, int threads, bool normalize = true);

// Normalises cases loaded with normalize = false.
void normalizeCases(std::vector<LoadedCase>& cases, const PreprocessOptions& options);

// nnU-Net's default target spacing (medianTargetSpacing) over the cases' first image,
// from the headers only, in the canonical orientation when `reorient`.
std::array<double, 3> datasetTargetSpacing(const std::vector<CaseEntry>& cases, bool reorient);

}  // namespace seg
