#pragma once
// The reporting side of segeval: per-case results, CSV/JSON files and console tables.
// No torch, no ITK. Every output states the conventions it used (empty rule,
// connectivity, size bins, match rule) because tools disagree on them (design.md §7).
#include <string>
#include <vector>

#include "metrics/SegMetrics.h"

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
  LesionMatchOptions lesionOptions;     // connectivity and size bins the lesions used
  std::vector<std::string> classNames;  // optional, indexed by class; tables fall back to "class c"
};

// overlapPerClass + matchLesions for one case with the report's settings.
CaseResult evaluateCase(const std::string& caseId, const LabelVolume& pred, const LabelVolume& ref,
                        const EvalReport& settings);

// Lesion detection counts for one class. tp = detected reference lesions, fn = missed
// ones, fp = predicted components overlapping no reference lesion (BraTS-2023 counting).
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
// positives score 0, averaged over reference lesions + false positives), without its
// reference dilation and volume threshold: sum of lesion Dice / (reference lesions + FP);
// the empty rule when both are zero (BraTS itself scores that case 1).
double lesionWiseDice(const CaseLesions& lesions, int classIndex, EmptyRule rule);

// Mean over the finite values; NaN when there are none.
double meanIgnoringNan(const std::vector<double>& values);

// Throws InternalError when the cases do not match numClasses/lesionOptions (a caller
// bug), InputError for bad numClasses or lesion options.
void validateReport(const EvalReport& report);

// Files written atomically (temporary file in the same directory, then rename), so a
// crash never leaves a half-written report. NaN is "nan" in CSV and null in JSON.
void writePerCaseCsv(const EvalReport& report, const std::string& path);
void writeLesionsCsv(const EvalReport& report, const std::string& path);
void writeSizeBinsCsv(const EvalReport& report, const std::string& path);
void writeSummaryJson(const EvalReport& report, const std::string& path);
// Creates outputDir if needed and writes per_case.csv, lesions.csv, size_bins.csv and
// summary.json into it. Throws InputError naming the path when it cannot.
void writeEvalReport(const EvalReport& report, const std::string& outputDir);

// "empty-reference rule: nan; lesions: 26-connected components, detected on any overlap"
std::string describeConventions(const EvalReport& report);
// Fixed-width console tables ending with the conventions line; NaN shows as "n/a".
std::string formatCaseTable(const EvalReport& report);     // Dice per case and class + mean row
std::string formatSizeBinTable(const EvalReport& report);  // per class and lesion-size bin

}  // namespace seg
