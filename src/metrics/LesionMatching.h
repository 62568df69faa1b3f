#pragma once
// Lesion-wise matching of predicted components to reference lesions (design.md section 7).
#include <cstdint>
#include <string>
#include <vector>

#include "core/Image.h"

namespace seg {

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

// `ignored` (optional, one 0/1 flag per voxel, 1 = not annotated): the reference must be
// background there. Predicted components are the components of the whole prediction, but
// only their annotated voxels count (overlap, their size in the lesion Dice), and a
// component lying entirely on ignored voxels is no false positive. A predicted component
// that crosses an unannotated slab stays one component.
CaseLesions matchLesions(const LabelVolume& pred, const LabelVolume& ref, int numClasses,
                         const LesionMatchOptions& options,
                         const std::vector<uint8_t>* ignored = nullptr);

}  // namespace seg
