#pragma once
// What segeval computes per case and over a dataset (overlap, surface distances, lesion
// detection). No torch, no ITK; the files and tables are written by eval/ReportFiles.h
// and eval/ReportTables.h, which state the conventions used (design.md §7).
#include <string>
#include <vector>

#include "metrics/LesionMatching.h"
#include "metrics/Overlap.h"
#include "metrics/SizeBins.h"
#include "metrics/SurfaceDistance.h"

namespace seg {

struct CaseResult {
  std::string caseId;
  std::vector<ClassOverlap> overlap;  // classes 1..numClasses-1, from overlapPerClass
  CaseLesions lesions;                // from matchLesions
};

struct EvalReport {
  std::vector<CaseResult> cases;
  int numClasses = 2;
  EmptyRule emptyRule = EmptyRule::Nan;
  LesionMatchOptions lesionOptions;     // connectivity, matching, bins the lesions used
  std::vector<std::string> classNames;  // optional, indexed by class; tables fall back to "class c"
  bool surfaceDistances = true;         // HD95/ASSD per case and class (ITK distance maps)
};

// The overlap row of class c (1..numClasses-1) of a validated case.
inline const ClassOverlap& overlapOf(const CaseResult& cs, int c) { return cs.overlap[c - 1]; }

// overlapPerClass (+ surfaceDistancePerClass when settings.surfaceDistances) +
// matchLesions for one case with the report's settings.
CaseResult evaluateCase(const std::string& caseId, const LabelVolume& pred, const LabelVolume& ref,
                        const EvalReport& settings);

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
// bug), InputError for bad numClasses or lesion options.
void validateReport(const EvalReport& report);

// Lesions of all cases per class and size bin (metrics/SizeBins.h, rows class-major).
std::vector<SizeBinRow> sizeBinRows(const EvalReport& report);

}  // namespace seg
