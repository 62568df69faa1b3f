// The report files of segeval: cases.csv, lesions.csv, size_bins.csv and metrics.json.
#include "eval/ReportFiles.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/AtomicFile.h"
#include "core/Error.h"
#include "eval/ReportFormat.h"

namespace seg {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double ratio(double num, double den) { return den == 0.0 ? kNan : num / den; }

nlohmann::ordered_json jsonNumber(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

}  // namespace

void writeCasesCsv(const EvalReport& report, const std::string& path) {
  validateReport(report);
  std::ostringstream out;
  out << "case,class,dice,iou,hd95,assd,ref_voxels,pred_voxels,ref_lesions,detected_lesions,"
         "fp_lesions,lesion_wise_dice,tp_voxels,fp_voxels,fn_voxels,class_name\n";
  for (const CaseResult& cs : report.cases) {
    for (const ClassOverlap& o : cs.overlap) {
      const LesionDetection d = lesionDetection(cs.lesions, o.classIndex, report.emptyRule);
      out << csvField(cs.caseId) << ',' << o.classIndex << ',' << csvNumber(o.dice) << ','
          << csvNumber(o.iou) << ',' << csvNumber(o.hd95) << ',' << csvNumber(o.assd) << ','
          << o.refVoxels << ',' << o.predVoxels << ',' << d.tp + d.fn << ',' << d.tp << ','
          << d.fp << ',' << csvNumber(lesionWiseDice(cs.lesions, o.classIndex, report.emptyRule))
          << ',' << o.tp << ',' << o.fp << ',' << o.fn << ',' << csvField(className(report, o.classIndex))
          << '\n';
    }
  }
  writeFileAtomically(path, out.str());
}

void writeLesionsCsv(const EvalReport& report, const std::string& path) {
  validateReport(report);
  std::ostringstream out;
  out << "case,class,lesion,voxels,volume_mm3,size_bin,detected,dice,iou,matched_components,"
         "scored,class_name\n";
  for (const CaseResult& cs : report.cases) {
    for (const Lesion& l : cs.lesions.lesions) {
      out << csvField(cs.caseId) << ',' << l.classIndex << ',' << l.id << ',' << l.voxels << ','
          << csvNumber(l.volumeMm3) << ',' << sizeBinLabel(report.lesionOptions.sizeBinsMm3, l.bin)
          << ',' << (l.detected ? 1 : 0) << ',' << csvNumber(l.dice) << ',' << csvNumber(l.iou)
          << ',' << l.matchedComponents << ',' << (l.counted ? 1 : 0) << ','
          << csvField(className(report, l.classIndex)) << '\n';
    }
  }
  writeFileAtomically(path, out.str());
}

void writeSizeBinsCsv(const EvalReport& report, const std::string& path) {
  validateReport(report);
  std::ostringstream out;
  out << "class,bin_low_mm3,bin_high_mm3,lesions,detected,sensitivity,mean_lesion_dice,class_name\n";
  for (const SizeBinRow& r : sizeBinRows(report)) {
    out << r.classIndex << ',' << csvNumber(r.lowMm3) << ',' << csvNumber(r.highMm3) << ','
        << r.lesions << ',' << r.detected << ',' << csvNumber(r.sensitivity) << ','
        << csvNumber(r.meanDice) << ',' << csvField(className(report, r.classIndex)) << '\n';
  }
  writeFileAtomically(path, out.str());
}

namespace {
std::string matchRuleText(const LesionMatchOptions& o) {
  return o.match == MatchRule::Iou ? "iou>=" + csvNumber(o.iouThreshold) : "any-overlap";
}

// What a "class" of the report is: a label value, or a region (a set of values scored as
// one binary class), and which voxels were left out.
nlohmann::ordered_json encodingJson(const LabelEncoding& e) {
  using json = nlohmann::ordered_json;
  json out = {{"scored_as", e.hasRegions() ? "regions" : "classes"},
              {"description", describeEncoding(e)}};
  if (e.hasRegions()) {
    json regions = json::array();
    for (size_t r = 0; r < e.regions.size(); ++r) {
      regions.push_back({{"class", r + 1},
                         {"name", r < e.regionNames.size() ? e.regionNames[r] : std::string()},
                         {"labels", e.regions[r]}});
    }
    out["regions"] = regions;
    out["region_rule"] = "region r: voxels whose label is one of its labels, in reference and prediction "
                         "alike; scored as a binary class (nnU-Net region evaluation)";
  }
  out["ignore_label"] = e.hasIgnore() ? json(e.ignoreLabel) : json(nullptr);
  if (e.hasIgnore()) {
    out["ignore_rule"] = "voxels where the reference holds the ignore label are left out of every metric; "
                         "predicted components lying entirely on them are not false positives";
  }
  return out;
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
      {"mean", "mean over cases of the finite values; null when there are none"},
      {"label_encoding", encodingJson(report.encoding)}};

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
    if (report.encoding.hasRegions()) {
      classes.back()["region_labels"] = report.encoding.regions[static_cast<size_t>(c - 1)];
    }
  }

  json bins = json::array();
  for (const SizeBinRow& r : sizeBinRows(report)) {
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
                    {"name", className(report, c)},
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

}  // namespace seg
