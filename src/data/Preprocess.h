#pragma once
// Preprocessing shared by training and inference, so both see the same input
// distribution on the same grid: canonical orientation, resampling to a target
// spacing, intensity normalisation. docs/data.md describes each step.
#include <array>
#include <string>
#include <vector>

#include "core/Image.h"

namespace seg {

enum class Normalization { ZScore, CT, None };
Normalization parseNormalization(const std::string& text);  // "zscore" | "ct" | "none"

// Dataset-wide foreground intensity statistics, per channel (nnU-Net's
// intensityproperties): CT normalisation clips to [clipLow, clipHigh] (foreground
// percentiles 0.5 and 99.5), then z-scores with the foreground mean and std.
struct IntensityStats {
  std::vector<double> clipLow, clipHigh, mean, std;
  bool empty() const { return mean.empty(); }
  size_t channels() const { return mean.size(); }
};

struct PreprocessOptions {
  bool reorient = true;                      // to ITK's identity direction (Resample.h)
  std::array<double, 3> spacing{0, 0, 0};    // target x, y, z mm after reorientation; 0 = keep
  Normalization normalization = Normalization::ZScore;
  bool nonzeroMask = false;                  // z-score: statistics over nonzero voxels only
  IntensityStats ct;                         // required for Normalization::CT
  // Not a preprocessing parameter: where decoded cases are cached (CaseCache.h); empty
  // disables the cache.
  std::string cacheDir;
};

// In place, per channel:
// - ZScore: (x - mean) / max(std, 1e-8) over the image (nnU-Net's ZScoreNormalization);
//   with nonzeroMask the statistics come from voxels where any channel is nonzero and
//   the others are set to 0 (nnU-Net's use_mask_for_norm, without its hole filling).
// - CT: clip to [clipLow, clipHigh], then (x - mean) / max(std, 1e-8) with the dataset's
//   foreground statistics (nnU-Net's CTNormalization).
// `where` names the case in messages.
void normalizeIntensities(Volume& volume, const PreprocessOptions& options, const std::string& where = "");

// Foreground intensity statistics over cases (images before normalisation, labels on
// the same grid): mean and std (population, as numpy) over every foreground voxel;
// percentiles 0.5 / 99.5 with numpy's linear interpolation, over every foreground
// voxel of a case with at most kPercentileSamplesPerCase of them and over an evenly
// strided subset of that many otherwise. Throws InputError when no case has foreground.
constexpr size_t kPercentileSamplesPerCase = 200000;
struct ForegroundSource {
  const Volume* image;
  const LabelVolume* label;
  int ignoreLabel = -1;  // unannotated voxels: not foreground
};
IntensityStats foregroundStats(const std::vector<ForegroundSource>& cases);

// numpy.percentile(values, q) (linear interpolation); reorders `values`.
double percentile(std::vector<double>& values, double q);

// nnU-Net's default target spacing (ExperimentPlanner.determine_fullres_target_spacing):
// the per-axis median of the spacings; when the coarsest axis is anisotropic
// (median spacing > 3x the largest other one, and median size x 3 < the smallest
// other one) that axis takes the 10th percentile of its spacings instead, but not
// less than the largest other spacing (then that + 1e-5). Spacings and sizes per case,
// x, y, z in the canonical orientation.
constexpr double kAnisotropyThreshold = 3.0;
std::array<double, 3> medianTargetSpacing(const std::vector<std::array<double, 3>>& spacings,
                                          const std::vector<std::array<int64_t, 3>>& sizes);

}  // namespace seg
