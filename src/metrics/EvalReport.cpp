// Per-case evaluation and the lesion detection figures of a report (design.md section 7).
// Computes only: the CSV/JSON files and console tables are written by eval/.
#include "metrics/EvalReport.h"

#include <array>
#include <cmath>
#include <limits>

#include "core/Error.h"
#include "metrics/LabelChecks.h"

namespace seg {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double ratio(double num, double den) { return den == 0.0 ? kNan : num / den; }

}  // namespace

namespace {

// Region mode takes any label value a region names (plus 0 and, in the reference, the
// ignore label): overlapPerClass cannot check those, the region masks are 0/1.
void checkRegionValues(const std::string& caseId, const char* which, const LabelVolume& v,
                       const LabelEncoding& encoding) {
  const auto bits = encoding.regionBits();
  std::array<bool, 256> seen{};
  for (uint8_t x : v.data) seen[x] = true;
  for (int x = 1; x < 256; ++x) {
    if (!seen[x] || bits[x] != 0 || x == encoding.ignoreLabel) continue;
    throw InputError("case '" + caseId + "': " + which + " holds label " + std::to_string(x) +
                     ", which is in no region" +
                     (encoding.hasIgnore() ? " and is not the ignore label " + std::to_string(encoding.ignoreLabel)
                                           : std::string()));
  }
}

// Voxels where the reference holds the ignore label (1), or an empty mask without one.
std::vector<uint8_t> ignoreMask(const LabelVolume& ref, const LabelEncoding& encoding) {
  std::vector<uint8_t> mask;
  if (!encoding.hasIgnore()) return mask;
  const auto ignore = static_cast<uint8_t>(encoding.ignoreLabel);
  mask.resize(ref.data.size());
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = ref.data[i] == ignore ? 1 : 0;
  return mask;
}

// The scores of one class or region on maps `pred`/`ref` (ignored voxels dropped) and the
// undropped prediction `predWhole` for the lesion components.
CaseResult scoreMaps(const std::string& caseId, const LabelVolume& pred, const LabelVolume& predWhole,
                     const LabelVolume& ref, int numClasses, const std::vector<uint8_t>& ignored,
                     const EvalReport& settings) {
  CaseResult result;
  result.caseId = caseId;
  result.overlap = overlapPerClass(pred, ref, numClasses, settings.emptyRule);
  if (settings.surfaceDistances) {
    const auto distances = surfaceDistancePerClass(pred, ref, numClasses, settings.emptyRule);
    for (size_t k = 0; k < distances.size(); ++k) {
      result.overlap[k].hd95 = distances[k].hd95;
      result.overlap[k].assd = distances[k].assd;
    }
  }
  result.lesions = matchLesions(predWhole, ref, numClasses, settings.lesionOptions,
                                ignored.empty() ? nullptr : &ignored);
  return result;
}

}  // namespace

CaseResult evaluateCase(const std::string& caseId, const LabelVolume& pred, const LabelVolume& ref,
                        const EvalReport& settings) {
  const LabelEncoding& enc = settings.encoding;
  if (!enc.hasRegions() && !enc.hasIgnore()) {
    return scoreMaps(caseId, pred, pred, ref, settings.numClasses, {}, settings);
  }
  metrics_detail::checkSameGrid("evaluateCase", pred, ref);
  const std::vector<uint8_t> ignored = ignoreMask(ref, enc);
  LabelVolume predDropped = pred, refDropped = ref;
  dropIgnored(predDropped, refDropped, enc);
  if (!enc.hasRegions()) {
    // The prediction's own values on ignored voxels do not matter (a copy of the reference
    // may hold the ignore label there); its components still run through them.
    LabelVolume predWhole = pred;
    for (size_t i = 0; i < ignored.size(); ++i) {
      if (ignored[i] && predWhole.data[i] >= settings.numClasses) predWhole.data[i] = 0;
    }
    return scoreMaps(caseId, predDropped, predWhole, refDropped, settings.numClasses, ignored, settings);
  }
  checkRegionValues(caseId, "prediction", pred, enc);
  checkRegionValues(caseId, "reference", ref, enc);
  CaseResult result;
  result.caseId = caseId;
  result.lesions.falsePositives.assign(enc.regions.size() + 1, 0);
  for (size_t r = 0; r < enc.regions.size(); ++r) {
    const int c = static_cast<int>(r) + 1;
    const LabelVolume refMask = regionMask(refDropped, enc, r);
    CaseResult one = scoreMaps(caseId, regionMask(predDropped, enc, r), regionMask(pred, enc, r), refMask, 2,
                               ignored, settings);
    one.overlap[0].classIndex = c;
    result.overlap.push_back(one.overlap[0]);
    for (Lesion l : one.lesions.lesions) {
      l.classIndex = c;
      result.lesions.lesions.push_back(l);
    }
    result.lesions.falsePositives[r + 1] = one.lesions.falsePositives[1];
  }
  return result;
}

int scoredMaps(LabelVolume& pred, LabelVolume& ref, const EvalReport& settings, int c) {
  const LabelEncoding& enc = settings.encoding;
  dropIgnored(pred, ref, enc);
  if (!enc.hasRegions()) return c;
  if (c < 1 || c > static_cast<int>(enc.regions.size())) {
    throw InternalError("scoredMaps: region " + std::to_string(c) + " of " + std::to_string(enc.regions.size()));
  }
  pred = regionMask(pred, enc, static_cast<size_t>(c - 1));
  ref = regionMask(ref, enc, static_cast<size_t>(c - 1));
  return 1;
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
  report.encoding.check("eval report: label encoding");
  if (report.encoding.hasRegions() &&
      report.numClasses != static_cast<int>(report.encoding.regions.size()) + 1) {
    throw InternalError("eval report: numClasses " + std::to_string(report.numClasses) + " for " +
                        std::to_string(report.encoding.regions.size()) + " regions (expected regions + 1)");
  }
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
