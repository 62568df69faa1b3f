#pragma once
// The reporting side of segeval: per-case results, CSV/JSON files and console tables.
// No torch, no ITK. Every output states the conventions it used (empty rule,
// connectivity, size bins, match rule) because tools disagree on them (design.md §7).
#include <string>
#include <vector>

#include "metrics/SegMetrics.h"
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

// Files written atomically (temporary file in the same directory, then rename), so a
// crash never leaves a half-written report. NaN is "nan" in CSV and null in JSON.
// cases.csv: one row per case and class (overlap, surface distances, lesion counts).
void writeCasesCsv(const EvalReport& report, const std::string& path);
// lesions.csv: one row per reference lesion.
void writeLesionsCsv(const EvalReport& report, const std::string& path);
void writeSizeBinsCsv(const EvalReport& report, const std::string& path);
// metrics.json: conventions, summary per class, per size bin, overall, and per case.
void writeMetricsJson(const EvalReport& report, const std::string& path);
// Creates outputDir if needed and writes cases.csv, lesions.csv, size_bins.csv and
// metrics.json into it. Throws InputError naming the path when it cannot.
void writeEvalReport(const EvalReport& report, const std::string& outputDir);

// "0-10", "10-100", "1000-inf"; "<5" for a lesion below the first edge (bin -1).
std::string sizeBinLabel(const std::vector<double>& sizeBinsMm3, int bin);

// "empty-reference rule: nan; lesions: 26-connected components, detected on any overlap"
// plus the dilation, volume threshold and preset when set.
std::string describeConventions(const EvalReport& report);
// Fixed-width console tables ending with the conventions line; NaN shows as "n/a".
std::string formatCaseTable(const EvalReport& report);     // Dice per case and class + mean row
std::string formatSizeBinTable(const EvalReport& report);  // per class and lesion-size bin

}  // namespace seg
