#pragma once
// What segeval computes per case and over a dataset (overlap, surface distances, lesion
// detection). No torch, no ITK; the files and tables are written by eval/ReportFiles.h
// and eval/ReportTables.h, which state the conventions used (design.md §7).
#include <string>
#include <vector>

#include "core/LabelEncoding.h"
#include "metrics/LesionMatching.h"
#include "metrics/Overlap.h"
#include "metrics/SizeBins.h"
#include "metrics/SurfaceDistance.h"

namespace seg {

struct CaseResult {
  std::string caseId;
  std::vector<ClassOverlap> overlap;  // classes (or regions) 1..numClasses-1, from overlapPerClass
  CaseLesions lesions;                // from matchLesions
};

// With regions (encoding.hasRegions()), "class" c = 1..R of every table is region c-1,
// scored as a binary class on the region masks of prediction and reference (nnU-Net's
// region evaluation), and numClasses is R + 1. With an ignore label, voxels where the
// reference holds it are left out of every metric (docs/evaluation.md).
struct EvalReport {
  std::vector<CaseResult> cases;
  int numClasses = 2;
  LabelEncoding encoding;  // plain classes when it has no regions; ignore label or -1
  EmptyRule emptyRule = EmptyRule::Nan;
  LesionMatchOptions lesionOptions;     // connectivity, matching, bins the lesions used
  std::vector<std::string> classNames;  // optional, indexed by class; tables fall back to "class c"
  bool surfaceDistances = true;         // HD95/ASSD per case and class (ITK distance maps)
};

// The overlap row of class c (1..numClasses-1) of a validated case.
inline const ClassOverlap& overlapOf(const CaseResult& cs, int c) { return cs.overlap[c - 1]; }

// overlapPerClass (+ surfaceDistancePerClass when settings.surfaceDistances) +
// matchLesions for one case with the report's settings. With an ignore label, the voxels
// where `ref` holds it are dropped first (dropIgnored) for the voxel metrics; lesions are
// the reference components after dropping, and predicted components that lie entirely on
// ignored voxels are no false positives (matchLesions' ignore mask). With regions, each
// region is scored on regionMask of both maps. Throws InputError naming the case when a
// label value is neither background, a class (a region's value) nor the ignore label.
CaseResult evaluateCase(const std::string& caseId, const LabelVolume& pred, const LabelVolume& ref,
                        const EvalReport& settings);

// The maps class (or region) c of the report is scored on, for drawing it: the ignore
// label dropped, and with regions the 0/1 masks of region c-1. Returns the value that
// marks class c in them (c, or 1 for a region).
int scoredMaps(LabelVolume& pred, LabelVolume& ref, const EvalReport& settings, int c);

// Lesion detection counts for one class. tp = detected reference lesions, fn = missed
// ones, fp = predicted components matching no reference lesion (BraTS-2023 counting).
// Lesions that are not counted (at or below LesionMatchOptions::minLesionVolumeMm3) are
// in neither tp nor fn.
// precision = tp/(tp+fp), recall = tp/(tp+fn), f1 = 2tp/(2tp+fp+fn); a ratio with a zero
// denominator is NaN, except that with no reference and no predicted lesions at all all
// three follow the empty rule (the lesion-level analogue of an empty Dice).
struct LesionDetection {
  int64_t tp = 0, fp = 0, fn = 0;
  double precision = 0.0, recall = 0.0, f1 = 0.0;
};
LesionDetection lesionDetection(const CaseLesions& lesions, int classIndex, EmptyRule rule);
// Counts summed over all cases before the ratios.
LesionDetection pooledLesionDetection(const EvalReport& report, int classIndex);

// BraTS-2023 lesion-wise Dice (rachitsaluja/BraTS-2023-Metrics: missed lesions and false
// positives score 0, averaged over reference lesions + false positives): sum of lesion
// Dice / (counted reference lesions + FP), with the reference dilation and volume
// threshold of the match options (the brats2023 preset sets BraTS's); the empty rule
// when both are zero (BraTS itself scores that case 1).
double lesionWiseDice(const CaseLesions& lesions, int classIndex, EmptyRule rule);

// Mean over the finite values; NaN when there are none.
double meanIgnoringNan(const std::vector<double>& values);

// Throws InternalError when the cases do not match numClasses/lesionOptions (a caller
// bug), InputError for bad numClasses, lesion options or label encoding (numClasses must
// be regions + 1 with regions).
void validateReport(const EvalReport& report);

// Lesions of all cases per class and size bin (metrics/SizeBins.h, rows class-major).
std::vector<SizeBinRow> sizeBinRows(const EvalReport& report);

}  // namespace seg
