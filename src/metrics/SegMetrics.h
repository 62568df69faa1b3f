#pragma once
// Overlap and lesion-wise metrics on label maps. No ITK I/O, no torch.
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/Image.h"

namespace seg {

// What Dice is when both reference and prediction are empty for a class:
// MONAI reports NaN, BraTS scores 1, some tools 0. Every report states the rule.
enum class EmptyRule { Nan, One, Zero };
EmptyRule parseEmptyRule(const std::string& text);  // "nan" | "one" | "zero"; throws InputError
std::string toString(EmptyRule rule);

struct ClassOverlap {
  int classIndex = 0;
  int64_t tp = 0, fp = 0, fn = 0;
  int64_t refVoxels = 0, predVoxels = 0;
  double dice = 0.0;  // 2tp / (2tp + fp + fn), empty rule when ref and pred are empty
  double iou = 0.0;
  // Surface distances in mm (metrics/SurfaceDistance.h); NaN until computed.
  double hd95 = std::numeric_limits<double>::quiet_NaN();
  double assd = std::numeric_limits<double>::quiet_NaN();
};

// Per foreground class 1..numClasses-1. Throws InputError when the grids differ.
std::vector<ClassOverlap> overlapPerClass(const LabelVolume& pred, const LabelVolume& ref,
                                          int numClasses, EmptyRule rule);

// Connected components of (labels == classIndex) with 6, 18 or 26 connectivity
// (faces / +edges / +corners: scipy.ndimage.generate_binary_structure(3, 1|2|3)).
// Returns a component id per voxel (0 = not in class) and the component count; ids
// are 1..count in raster (z, y, x buffer) order of each component's first voxel.
struct Components {
  std::vector<int32_t> ids;
  int32_t count = 0;
};
Components connectedComponents(const std::vector<uint8_t>& labels,
                               const std::array<int64_t, 3>& size, int classIndex,
                               int connectivity);

// How a predicted component is matched to a reference lesion (docs/evaluation.md):
//   AnyOverlap: it shares at least one voxel with the lesion (or with the lesion's dilated
//               region when referenceDilation > 0, as BraTS 2023);
//   Iou:        IoU(lesion, component) >= iouThreshold, pairwise (one-to-one for t > 0.5,
//               panoptica's naive threshold matching).
enum class MatchRule { AnyOverlap, Iou };

struct LesionMatchOptions {
  int connectivity = 26;
  std::vector<double> sizeBinsMm3{0.0, 10.0, 100.0, 1000.0};  // lower edges, last bin open
  MatchRule match = MatchRule::AnyOverlap;
  double iouThreshold = 0.5;  // MatchRule::Iou, in (0, 1]
  // BraTS 2023: reference components whose regions dilated `referenceDilation` times by the
  // 18-neighbourhood cross (scipy generate_binary_structure(3, 2)) touch form one lesion,
  // and predicted components are matched against the dilated lesion. 0 = no dilation.
  int referenceDilation = 0;
  // BraTS 2023: lesions with volume <= this (mm^3) are not scored (no bin, no detection
  // count, not in lesion-wise Dice), but predicted components matching them are not false
  // positives either. 0 = every lesion is scored.
  double minLesionVolumeMm3 = 0.0;
  std::string preset;  // "" or "brats2023"; for reports only
};
// Throws InputError unless connectivity is 6/18/26, the bins are non-empty, finite,
// strictly increasing with the first >= 0, the IoU threshold is in (0, 1], the dilation
// in 0..10 and the volume threshold finite and >= 0.
void validateLesionMatchOptions(const LesionMatchOptions& options);

// "any" / "overlap" -> AnyOverlap; "iou:T" -> Iou with threshold T. Throws InputError.
void parseMatchRule(const std::string& text, LesionMatchOptions& options);
// "any-overlap" or "iou>=0.5", plus the dilation when there is one.
std::string describeMatchRule(const LesionMatchOptions& options);
// BraTS 2023 lesion-wise evaluation (rachitsaluja/BraTS-2023-Metrics, BraTS-GLI/SSA/PED
// parameters): 26-connected lesions, reference dilated 3 times by the 18-neighbourhood
// cross, any-overlap matching with the dilated lesion, lesions <= 50 mm^3 not scored.
// Size bins keep their defaults.
LesionMatchOptions bratsPreset();

// Binary dilation of `mask` (0/1, x fastest) `iterations` times with the 18-neighbourhood
// cross; voxels outside the grid count as background (scipy.ndimage.binary_dilation).
std::vector<uint8_t> dilate18(const std::vector<uint8_t>& mask, const std::array<int64_t, 3>& size,
                              int iterations);

struct Lesion {
  int classIndex = 0;
  int id = 0;             // component id within its class (1..count, raster order)
  int64_t firstVoxel = 0; // buffer index of its first voxel in raster order (locates it)
  int64_t voxels = 0;
  double volumeMm3 = 0.0;
  int bin = 0;          // index into sizeBinsMm3; -1 when smaller than the first edge
  bool detected = false;  // at least one predicted component matches it
  bool counted = true;    // false when at or below minLesionVolumeMm3 (not scored)
  double dice = 0.0;    // Dice with the union of the matched predicted components
  double iou = 0.0;     // IoU with the same union
  int matchedComponents = 0;  // predicted components matching it
  int64_t overlapVoxels = 0;  // lesion voxels inside the matched components
  int64_t predVoxels = 0;     // voxels of the union of matched predicted components
};

struct CaseLesions {
  std::vector<Lesion> lesions;         // reference lesions, class-major, then by id
  std::vector<int64_t> falsePositives; // per class index (entry 0 unused)
};

CaseLesions matchLesions(const LabelVolume& pred, const LabelVolume& ref, int numClasses,
                         const LesionMatchOptions& options);

// Aggregate of lesions over cases, per class and size bin (rows class-major). Lesions
// with bin -1 (below the first edge) or not counted are in no row.
struct SizeBinRow {
  int classIndex = 0;
  double lowMm3 = 0.0;
  double highMm3 = std::numeric_limits<double>::infinity();
  int64_t lesions = 0;
  int64_t detected = 0;
  double sensitivity = 0.0;  // NaN when the bin is empty
  double meanDice = 0.0;     // NaN when the bin is empty
};
std::vector<SizeBinRow> aggregateBins(const std::vector<CaseLesions>& cases, int numClasses,
                                      const std::vector<double>& sizeBinsMm3);

}  // namespace seg
