#include "metrics/EvalReport.h"

#include "core/AtomicFile.h"


#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/Error.h"

namespace seg {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double emptyValue(EmptyRule rule) {
  return rule == EmptyRule::One ? 1.0 : rule == EmptyRule::Zero ? 0.0 : kNan;
}

double ratio(double num, double den) { return den == 0.0 ? kNan : num / den; }

// Shortest text that reads back to the same double, so CSVs lose nothing and stay short.
std::string csvNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

// RFC 4180: quote a field holding a separator, quote or line break; double inner quotes.
std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

nlohmann::ordered_json jsonNumber(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

std::string fixed(double v, int decimals, const char* suffix = "") {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals, v, suffix);
  return buf;
}

std::string edge(double v) {
  if (std::isinf(v)) return "inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string pad(const std::string& s, size_t width, bool right) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

// The dataset's label name when known; otherwise "class c" (or just "c" where the column
// already says class).
std::string className(const EvalReport& report, int c, bool withPrefix = true) {
  if (c < static_cast<int>(report.classNames.size()) && !report.classNames[c].empty()) {
    return report.classNames[c];
  }
  return (withPrefix ? "class " : "") + std::to_string(c);
}

const ClassOverlap& overlapOf(const CaseResult& cs, int c) { return cs.overlap[c - 1]; }

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

namespace {
// Counted reference lesions, detected ones and false positives of one class in one case.
struct LesionCounts {
  int64_t ref = 0, detected = 0, fp = 0;
};
LesionCounts lesionCounts(const CaseLesions& lesions, int c) {
  LesionCounts n;
  for (const Lesion& l : lesions.lesions) {
    if (l.classIndex != c || !l.counted) continue;
    ++n.ref;
    n.detected += l.detected ? 1 : 0;
  }
  n.fp = lesions.falsePositives[c];
  return n;
}
}  // namespace

void writeCasesCsv(const EvalReport& report, const std::string& path) {
  validateReport(report);
  std::ostringstream out;
  out << "case,class,dice,iou,hd95,assd,ref_voxels,pred_voxels,ref_lesions,detected_lesions,"
         "fp_lesions,lesion_wise_dice,tp_voxels,fp_voxels,fn_voxels\n";
  for (const CaseResult& cs : report.cases) {
    for (const ClassOverlap& o : cs.overlap) {
      const LesionCounts n = lesionCounts(cs.lesions, o.classIndex);
      out << csvField(cs.caseId) << ',' << o.classIndex << ',' << csvNumber(o.dice) << ','
          << csvNumber(o.iou) << ',' << csvNumber(o.hd95) << ',' << csvNumber(o.assd) << ','
          << o.refVoxels << ',' << o.predVoxels << ',' << n.ref << ',' << n.detected << ','
          << n.fp << ',' << csvNumber(lesionWiseDice(cs.lesions, o.classIndex, report.emptyRule))
          << ',' << o.tp << ',' << o.fp << ',' << o.fn << '\n';
    }
  }
  writeFileAtomically(path, out.str());
}

std::string sizeBinLabel(const std::vector<double>& bins, int bin) {
  if (bin < 0) return "<" + edge(bins.front());
  const double high = bin + 1 < static_cast<int>(bins.size()) ? bins[bin + 1]
                                                              : std::numeric_limits<double>::infinity();
  return edge(bins[bin]) + "-" + edge(high);
}

void writeLesionsCsv(const EvalReport& report, const std::string& path) {
  validateReport(report);
  std::ostringstream out;
  out << "case,class,lesion,voxels,volume_mm3,size_bin,detected,dice,iou,matched_components,"
         "scored\n";
  for (const CaseResult& cs : report.cases) {
    for (const Lesion& l : cs.lesions.lesions) {
      out << csvField(cs.caseId) << ',' << l.classIndex << ',' << l.id << ',' << l.voxels << ','
          << csvNumber(l.volumeMm3) << ',' << sizeBinLabel(report.lesionOptions.sizeBinsMm3, l.bin)
          << ',' << (l.detected ? 1 : 0) << ',' << csvNumber(l.dice) << ',' << csvNumber(l.iou)
          << ',' << l.matchedComponents << ',' << (l.counted ? 1 : 0) << '\n';
    }
  }
  writeFileAtomically(path, out.str());
}

namespace {
std::vector<SizeBinRow> binRows(const EvalReport& report) {
  std::vector<CaseLesions> lesions;
  for (const CaseResult& cs : report.cases) lesions.push_back(cs.lesions);
  return aggregateBins(lesions, report.numClasses, report.lesionOptions.sizeBinsMm3);
}
}  // namespace

void writeSizeBinsCsv(const EvalReport& report, const std::string& path) {
  validateReport(report);
  std::ostringstream out;
  out << "class,bin_low_mm3,bin_high_mm3,lesions,detected,sensitivity,mean_lesion_dice\n";
  for (const SizeBinRow& r : binRows(report)) {
    out << r.classIndex << ',' << csvNumber(r.lowMm3) << ',' << csvNumber(r.highMm3) << ','
        << r.lesions << ',' << r.detected << ',' << csvNumber(r.sensitivity) << ','
        << csvNumber(r.meanDice) << '\n';
  }
  writeFileAtomically(path, out.str());
}

namespace {
std::string matchRuleText(const LesionMatchOptions& o) {
  return o.match == MatchRule::Iou ? "iou>=" + csvNumber(o.iouThreshold) : "any-overlap";
}
}  // namespace

void writeMetricsJson(const EvalReport& report, const std::string& path) {
  validateReport(report);
  using json = nlohmann::ordered_json;  // keeps "conventions" first for readers
  const EmptyRule rule = report.emptyRule;
  const LesionMatchOptions& lo = report.lesionOptions;
  json conventions = {
      {"empty_rule", toString(rule)},
      {"empty_rule_applies_to",
       "Dice/IoU of a class empty in reference and prediction (HD95/ASSD: one -> 0 mm, zero -> "
       "inf, nan -> NaN); lesion precision/recall/F1 and lesion-wise Dice of a case with no "
       "reference and no predicted lesions"},
      {"preset", lo.preset.empty() ? json(nullptr) : json(lo.preset)},
      {"connectivity", lo.connectivity},
      {"match_rule", matchRuleText(lo)},
      {"reference_dilation_iterations", lo.referenceDilation},
      {"reference_dilation_structure", "18-neighbourhood cross (generate_binary_structure(3, 2))"},
      {"min_lesion_volume_mm3", lo.minLesionVolumeMm3},
      {"min_lesion_volume_rule", "lesions with volume <= min_lesion_volume_mm3 are not scored "
                                 "(0: all scored); predicted components matching them are not FP"},
      {"size_bins_mm3", lo.sizeBinsMm3},
      {"size_bin_rule", "lower edges, lower edge inclusive, last bin open-ended"},
      {"lesion_dice", "Dice of a reference lesion with the union of the predicted components "
                      "matching it"},
      {"lesion_counts", "tp: detected reference lesions; fn: missed reference lesions; fp: "
                        "predicted components matching no reference lesion"},
      {"lesion_wise_dice", "sum of lesion Dice / (scored reference lesions + fp) (BraTS 2023)"},
      {"surface", "voxels of the class with a face neighbour outside it (grid border counts as "
                  "outside)"},
      {"hd95", "max of the two directed 95th percentiles (linear interpolation) of surface "
               "distances in mm (MONAI compute_hausdorff_distance, percentile=95)"},
      {"assd", "mean of both directed surface distance sets together, mm (MONAI "
               "compute_average_surface_distance, symmetric=True)"},
      {"surface_distance_empty", "exactly one of reference/prediction empty -> inf (null in "
                                 "JSON, 'inf' in CSV); means use finite values only"},
      {"mean", "mean over cases of the finite values; null when there are none"}};

  auto detectionJson = [](const LesionDetection& d) {
    return json{{"tp", d.tp},
                {"fp", d.fp},
                {"fn", d.fn},
                {"precision", jsonNumber(d.precision)},
                {"recall", jsonNumber(d.recall)},
                {"f1", jsonNumber(d.f1)}};
  };
  auto countInfinite = [](const std::vector<double>& v) {
    return std::count_if(v.begin(), v.end(), [](double x) { return std::isinf(x); });
  };

  json classes = json::array();
  std::vector<double> classDice, classHd95, classAssd, classLwDice, classF1;
  for (int c = 1; c < report.numClasses; ++c) {
    std::vector<double> dice, iou, hd95, assd, precision, recall, f1, lwDice;
    int64_t fp = 0;
    for (const CaseResult& cs : report.cases) {
      dice.push_back(overlapOf(cs, c).dice);
      iou.push_back(overlapOf(cs, c).iou);
      hd95.push_back(overlapOf(cs, c).hd95);
      assd.push_back(overlapOf(cs, c).assd);
      const LesionDetection d = lesionDetection(cs.lesions, c, rule);
      precision.push_back(d.precision);
      recall.push_back(d.recall);
      f1.push_back(d.f1);
      lwDice.push_back(lesionWiseDice(cs.lesions, c, rule));
      fp += d.fp;
    }
    int64_t finiteDice = 0;
    for (double v : dice) finiteDice += std::isfinite(v) ? 1 : 0;
    const double numCases = static_cast<double>(report.cases.size());
    const LesionDetection pooled = pooledLesionDetection(report, c);
    classDice.push_back(meanIgnoringNan(dice));
    classHd95.push_back(meanIgnoringNan(hd95));
    classAssd.push_back(meanIgnoringNan(assd));
    classLwDice.push_back(meanIgnoringNan(lwDice));
    classF1.push_back(pooled.f1);
    classes.push_back(
        {{"class", c},
         {"name", className(report, c)},
         {"mean_dice", jsonNumber(meanIgnoringNan(dice))},
         {"mean_iou", jsonNumber(meanIgnoringNan(iou))},
         {"mean_hd95", jsonNumber(meanIgnoringNan(hd95))},
         {"mean_assd", jsonNumber(meanIgnoringNan(assd))},
         {"cases_with_dice", finiteDice},
         {"cases_with_infinite_distance", countInfinite(hd95)},
         {"fp_per_case", jsonNumber(ratio(static_cast<double>(fp), numCases))},
         {"lesion_detection_pooled", detectionJson(pooled)},
         {"lesion_detection_mean_per_case",
          {{"precision", jsonNumber(meanIgnoringNan(precision))},
           {"recall", jsonNumber(meanIgnoringNan(recall))},
           {"f1", jsonNumber(meanIgnoringNan(f1))}}},
         {"mean_lesion_wise_dice", jsonNumber(meanIgnoringNan(lwDice))}});
  }

  json bins = json::array();
  for (const SizeBinRow& r : binRows(report)) {
    bins.push_back({{"class", r.classIndex},
                    {"bin", sizeBinLabel(lo.sizeBinsMm3, static_cast<int>(
                                std::find(lo.sizeBinsMm3.begin(), lo.sizeBinsMm3.end(), r.lowMm3) -
                                lo.sizeBinsMm3.begin()))},
                    {"low_mm3", r.lowMm3},
                    {"high_mm3", jsonNumber(r.highMm3)},
                    {"lesions", r.lesions},
                    {"detected", r.detected},
                    {"sensitivity", jsonNumber(r.sensitivity)},
                    {"mean_lesion_dice", jsonNumber(r.meanDice)}});
  }

  const json overall = {{"mean_dice", jsonNumber(meanIgnoringNan(classDice))},
                        {"mean_hd95", jsonNumber(meanIgnoringNan(classHd95))},
                        {"mean_assd", jsonNumber(meanIgnoringNan(classAssd))},
                        {"mean_lesion_wise_dice", jsonNumber(meanIgnoringNan(classLwDice))},
                        {"mean_lesion_f1_pooled", jsonNumber(meanIgnoringNan(classF1))},
                        {"averaging", "mean over foreground classes of the per-class values"}};

  json cases = json::array();
  for (const CaseResult& cs : report.cases) {
    json perClass = json::array();
    for (int c = 1; c < report.numClasses; ++c) {
      const ClassOverlap& o = overlapOf(cs, c);
      json entry = {{"class", c},
                    {"dice", jsonNumber(o.dice)},
                    {"iou", jsonNumber(o.iou)},
                    {"hd95", jsonNumber(o.hd95)},
                    {"assd", jsonNumber(o.assd)},
                    {"lesion_wise_dice", jsonNumber(lesionWiseDice(cs.lesions, c, rule))}};
      entry.update(detectionJson(lesionDetection(cs.lesions, c, rule)));
      perClass.push_back(entry);
    }
    cases.push_back({{"case", cs.caseId}, {"classes", perClass}});
  }

  const json metrics = {{"conventions", conventions},
                        {"num_cases", report.cases.size()},
                        {"num_classes", report.numClasses},
                        {"overall", overall},
                        {"classes", classes},
                        {"size_bins", bins},
                        {"cases", cases}};
  writeFileAtomically(path, metrics.dump(2) + "\n");
}

void writeEvalReport(const EvalReport& report, const std::string& outputDir) {
  validateReport(report);
  std::error_code ec;
  std::filesystem::create_directories(outputDir, ec);
  if (ec || !std::filesystem::is_directory(outputDir)) {
    throw InputError("cannot create output directory '" + outputDir + "': " +
                     (ec ? ec.message() : std::string("not a directory")));
  }
  const std::filesystem::path dir(outputDir);
  writeCasesCsv(report, (dir / "cases.csv").string());
  writeLesionsCsv(report, (dir / "lesions.csv").string());
  writeSizeBinsCsv(report, (dir / "size_bins.csv").string());
  writeMetricsJson(report, (dir / "metrics.json").string());
}

std::string describeConventions(const EvalReport& report) {
  const LesionMatchOptions& o = report.lesionOptions;
  std::string text = "empty-reference rule: " + toString(report.emptyRule) + "; lesions: " +
                     std::to_string(o.connectivity) + "-connected components, detected on " +
                     (o.match == MatchRule::Iou ? "IoU >= " + csvNumber(o.iouThreshold) : "any overlap");
  if (o.referenceDilation > 0) {
    text += " with the reference dilated " + std::to_string(o.referenceDilation) + "x";
  }
  if (o.minLesionVolumeMm3 > 0) text += "; lesions <= " + edge(o.minLesionVolumeMm3) + " mm^3 not scored";
  if (!o.preset.empty()) text += "; preset " + o.preset;
  return text;
}

std::string formatCaseTable(const EvalReport& report) {
  validateReport(report);
  size_t caseWidth = std::string("Dice").size();
  for (const CaseResult& cs : report.cases) caseWidth = std::max(caseWidth, cs.caseId.size());
  std::vector<size_t> widths;
  std::ostringstream out;
  out << pad("Dice", caseWidth, false);
  for (int c = 1; c < report.numClasses; ++c) {
    widths.push_back(std::max<size_t>(7, className(report, c).size()));
    out << "  " << pad(className(report, c), widths.back(), true);
  }
  out << '\n';
  std::vector<std::vector<double>> perClass(report.numClasses);
  for (const CaseResult& cs : report.cases) {
    out << pad(cs.caseId, caseWidth, false);
    for (int c = 1; c < report.numClasses; ++c) {
      perClass[c].push_back(overlapOf(cs, c).dice);
      out << "  " << pad(fixed(overlapOf(cs, c).dice, 4), widths[c - 1], true);
    }
    out << '\n';
  }
  out << pad("mean", caseWidth, false);
  for (int c = 1; c < report.numClasses; ++c) {
    out << "  " << pad(fixed(meanIgnoringNan(perClass[c]), 4), widths[c - 1], true);
  }
  out << '\n' << describeConventions(report) << '\n';
  return out.str();
}

std::string formatSizeBinTable(const EvalReport& report) {
  validateReport(report);
  const std::vector<SizeBinRow> rows = binRows(report);
  size_t classWidth = std::string("class").size();
  size_t binWidth = std::string("size (mm^3)").size();
  std::vector<std::string> ranges;
  for (const SizeBinRow& r : rows) {
    ranges.push_back("[" + edge(r.lowMm3) + ", " + edge(r.highMm3) + ")");
    binWidth = std::max(binWidth, ranges.back().size());
    classWidth = std::max(classWidth, className(report, r.classIndex, false).size());
  }
  std::ostringstream out;
  out << pad("class", classWidth, false) << "  " << pad("size (mm^3)", binWidth, false)
      << "  lesions  detected  sensitivity  mean Dice\n";
  for (size_t k = 0; k < rows.size(); ++k) {
    const SizeBinRow& r = rows[k];
    out << pad(className(report, r.classIndex, false), classWidth, false) << "  "
        << pad(ranges[k], binWidth, false) << "  " << pad(std::to_string(r.lesions), 7, true)
        << "  " << pad(std::to_string(r.detected), 8, true) << "  "
        << pad(fixed(r.sensitivity * 100.0, 1, "%"), 11, true) << "  "
        << pad(fixed(r.meanDice, 4), 9, true) << '\n';
  }
  int64_t unbinned = 0;
  for (const CaseResult& cs : report.cases) {
    for (const Lesion& l : cs.lesions.lesions) unbinned += l.bin < 0 && l.counted ? 1 : 0;
  }
  int64_t unscored = 0;
  for (const CaseResult& cs : report.cases) {
    for (const Lesion& l : cs.lesions.lesions) unscored += l.counted ? 0 : 1;
  }
  if (unbinned > 0) {
    out << unbinned << " lesion(s) below " << edge(report.lesionOptions.sizeBinsMm3.front())
        << " mm^3 are in no bin\n";
  }
  if (unscored > 0) {
    out << unscored << " lesion(s) <= " << edge(report.lesionOptions.minLesionVolumeMm3)
        << " mm^3 are not scored\n";
  }
  out << describeConventions(report) << '\n';
  return out.str();
}

}  // namespace seg
