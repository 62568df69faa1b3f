#pragma once
// Dataset fingerprint and a suggested plan (`segdata plan`), after nnU-Net's
// DatasetFingerprintExtractor and ExperimentPlanner; docs/data.md describes the
// heuristic.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/Dataset.h"
#include "data/Preprocess.h"

namespace seg {

struct CaseFingerprint {
  std::string id;
  std::array<double, 3> spacing{};  // x, y, z mm, canonical orientation
  std::array<int64_t, 3> size{};    // x, y, z voxels, canonical orientation
};

struct ChannelIntensity {  // over the foreground voxels of all cases (raw, not resampled)
  double mean = 0, std = 0, min = 0, max = 0, p005 = 0, p50 = 0, p995 = 0;
};

struct ClassLesions {
  int classIndex = 0;
  int64_t lesions = 0;                 // 26-connected components over all cases
  int64_t casesWithClass = 0;
  double totalMm3 = 0;
  std::vector<int64_t> sizeHistogram;  // lesions per bin of FingerprintOptions::sizeBins
};

struct FingerprintOptions {
  std::vector<double> sizeBins{0.0, 10.0, 100.0, 1000.0};  // mm^3 lower edges (segeval's default)
  bool reorient = true;
  int ignoreLabel = -1;  // dataset.json's ignore label: allowed in labels, never foreground
};

struct DatasetFingerprint {
  std::vector<CaseFingerprint> cases;
  std::array<double, 3> medianSpacing{};
  std::array<double, 3> medianSize{};
  std::vector<ChannelIntensity> intensity;  // per channel
  std::vector<ClassLesions> classes;        // foreground classes 1..C-1
  std::vector<double> sizeBins;
};

// Reads every case (all channels and the label); errors name the case as training does.
DatasetFingerprint fingerprintDataset(const std::vector<CaseEntry>& cases, int numClasses,
                                      const FingerprintOptions& options = {});

// nnU-Net v2's dataset_fingerprint.json (nnUNetv2_extract_fingerprint): "spacings" and
// "shapes_after_crop" per case, in nnU-Net's array order z, y, x (turned into x, y, z here),
// one intensity entry per channel of "foreground_intensity_properties_per_channel". Lets
// `segdata plan` plan from nnU-Net's own fingerprint (docs/planning.md compares the planners
// that way). Case ids are "case_<i>"; no lesion statistics. Errors name the file and key.
DatasetFingerprint loadNnunetFingerprint(const std::string& path);

struct PlanOptions {
  double voxelBudget = 128.0 * 128.0 * 128.0;  // patch voxels x batch 2 that fit (default GPU)
  int64_t divisor = 8;                         // patch multiple: 2^(stages-1) of the default U-Net
  int64_t minBatch = 2;
  double maxDatasetShare = 0.05;               // a batch covers at most 5% of all voxels (nnU-Net)
};

struct Plan {
  std::array<double, 3> spacing{};      // target spacing (medianTargetSpacing)
  std::array<double, 3> medianShape{};  // median case size at that spacing, x y z
  std::array<int64_t, 3> patchSize{};   // x, y, z
  int64_t batchSize = 2;
};

Plan suggestPlan(const DatasetFingerprint& fingerprint, const PlanOptions& options = {});

}  // namespace seg
