// Per-case evaluation and the lesion detection figures of a report (design.md section 7).
// Computes only: the CSV/JSON files and console tables are written by eval/.
#include "metrics/EvalReport.h"

#include <cmath>
#include <limits>

#include "core/Error.h"

namespace seg {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double ratio(double num, double den) { return den == 0.0 ? kNan : num / den; }

}  // namespace

CaseResult evaluateCase(const std::string& caseId, const LabelVolume& pred, const LabelVolume& ref,
                        const EvalReport& settings) {
  CaseResult result;
  result.caseId = caseId;
  result.overlap = overlapPerClass(pred, ref, settings.numClasses, settings.emptyRule);
  if (settings.surfaceDistances) {
    const auto distances = surfaceDistancePerClass(pred, ref, settings.numClasses, settings.emptyRule);
    for (size_t k = 0; k < distances.size(); ++k) {
      result.overlap[k].hd95 = distances[k].hd95;
      result.overlap[k].assd = distances[k].assd;
    }
  }
  result.lesions = matchLesions(pred, ref, settings.numClasses, settings.lesionOptions);
  return result;
}

namespace {
LesionDetection detectionFromCounts(int64_t tp, int64_t fp, int64_t fn, EmptyRule rule) {
  LesionDetection d;
  d.tp = tp;
  d.fp = fp;
  d.fn = fn;
  if (tp + fp + fn == 0) {
    d.precision = d.recall = d.f1 = emptyValue(rule);
  } else {
    d.precision = ratio(static_cast<double>(tp), static_cast<double>(tp + fp));
    d.recall = ratio(static_cast<double>(tp), static_cast<double>(tp + fn));
    d.f1 = 2.0 * tp / static_cast<double>(2 * tp + fp + fn);
  }
  return d;
}

void countLesions(const CaseLesions& lesions, int c, int64_t& tp, int64_t& fp, int64_t& fn) {
  for (const Lesion& l : lesions.lesions) {
    if (l.classIndex == c && l.counted) ++(l.detected ? tp : fn);
  }
  if (c >= 0 && c < static_cast<int>(lesions.falsePositives.size())) fp += lesions.falsePositives[c];
}
}  // namespace

LesionDetection lesionDetection(const CaseLesions& lesions, int classIndex, EmptyRule rule) {
  int64_t tp = 0, fp = 0, fn = 0;
  countLesions(lesions, classIndex, tp, fp, fn);
  return detectionFromCounts(tp, fp, fn, rule);
}

LesionDetection pooledLesionDetection(const EvalReport& report, int classIndex) {
  int64_t tp = 0, fp = 0, fn = 0;
  for (const CaseResult& cs : report.cases) countLesions(cs.lesions, classIndex, tp, fp, fn);
  return detectionFromCounts(tp, fp, fn, report.emptyRule);
}

double lesionWiseDice(const CaseLesions& lesions, int classIndex, EmptyRule rule) {
  double sum = 0.0;
  int64_t count = 0;
  for (const Lesion& l : lesions.lesions) {
    if (l.classIndex != classIndex || !l.counted) continue;
    sum += l.dice;
    ++count;
  }
  if (classIndex >= 0 && classIndex < static_cast<int>(lesions.falsePositives.size())) {
    count += lesions.falsePositives[classIndex];
  }
  return count == 0 ? emptyValue(rule) : sum / static_cast<double>(count);
}

double meanIgnoringNan(const std::vector<double>& values) {
  double sum = 0.0;
  int64_t n = 0;
  for (double v : values) {
    if (std::isfinite(v)) {
      sum += v;
      ++n;
    }
  }
  return n == 0 ? kNan : sum / static_cast<double>(n);
}

void validateReport(const EvalReport& report) {
  if (report.numClasses < 1 || report.numClasses > 256) {
    throw InputError("eval report: numClasses must be in 1..256, got " +
                     std::to_string(report.numClasses));
  }
  validateLesionMatchOptions(report.lesionOptions);
  const int numBins = static_cast<int>(report.lesionOptions.sizeBinsMm3.size());
  for (const CaseResult& cs : report.cases) {
    const std::string where = "eval report: case '" + cs.caseId + "': ";
    if (static_cast<int>(cs.overlap.size()) != report.numClasses - 1) {
      throw InternalError(where + std::to_string(cs.overlap.size()) + " overlap rows for " +
                          std::to_string(report.numClasses) + " classes");
    }
    for (int c = 1; c < report.numClasses; ++c) {
      if (overlapOf(cs, c).classIndex != c) {
        throw InternalError(where + "overlap rows are not ordered by class");
      }
    }
    if (static_cast<int>(cs.lesions.falsePositives.size()) != report.numClasses) {
      throw InternalError(where + "false-positive counts for " +
                          std::to_string(cs.lesions.falsePositives.size()) + " classes, expected " +
                          std::to_string(report.numClasses));
    }
    for (const Lesion& l : cs.lesions.lesions) {
      if (l.classIndex < 1 || l.classIndex >= report.numClasses || l.bin < -1 || l.bin >= numBins) {
        throw InternalError(where + "lesion " + std::to_string(l.id) + " has class " +
                            std::to_string(l.classIndex) + " and bin " + std::to_string(l.bin) +
                            ", outside the report's classes or size bins");
      }
    }
  }
}

std::vector<SizeBinRow> sizeBinRows(const EvalReport& report) {
  std::vector<CaseLesions> lesions;
  for (const CaseResult& cs : report.cases) lesions.push_back(cs.lesions);
  return aggregateBins(lesions, report.numClasses, report.lesionOptions.sizeBinsMm3);
}

}  // namespace seg
