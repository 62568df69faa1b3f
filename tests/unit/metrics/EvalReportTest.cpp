#include "metrics/EvalReport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/Error.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::readText;
using test::TempDir;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

ClassOverlap overlap(int c, int64_t tp, int64_t fp, int64_t fn, double dice, double iou) {
  ClassOverlap o;
  o.classIndex = c;
  o.tp = tp;
  o.fp = fp;
  o.fn = fn;
  o.refVoxels = tp + fn;
  o.predVoxels = tp + fp;
  o.dice = dice;
  o.iou = iou;
  return o;
}

Lesion lesion(int c, int id, int64_t voxels, int bin, bool detected, double dice) {
  Lesion l;
  l.classIndex = c;
  l.id = id;
  l.voxels = voxels;
  l.volumeMm3 = 2.0 * static_cast<double>(voxels);
  l.bin = bin;
  l.detected = detected;
  l.dice = dice;
  return l;
}

// Two cases with 2 mm^3 voxels, numbers as SegMetricsTest's worked example produces them:
//   case_h  class 1: voxel tp 18 fp 7 fn 9 (Dice 36/52); lesions 3 vox missed, 24 vox Dice
//           0.75; 1 FP.  class 2: tp 3 fp 1 fn 2 (Dice 6/9); lesions 4 vox Dice 4/7, 1 vox
//           Dice 1; no FP.
//   case_e  class 1: one 2-voxel lesion found exactly (Dice 1). class 2 empty in both (NaN).
EvalReport workedReport() {
  EvalReport report;
  report.numClasses = 3;
  report.emptyRule = EmptyRule::Nan;
  CaseResult h;
  h.caseId = "case_h";
  h.overlap = {overlap(1, 18, 7, 9, 36.0 / 52.0, 18.0 / 34.0), overlap(2, 3, 1, 2, 6.0 / 9.0, 0.5)};
  h.lesions.lesions = {lesion(1, 1, 3, 0, false, 0.0), lesion(1, 2, 24, 1, true, 0.75),
                       lesion(2, 1, 4, 0, true, 4.0 / 7.0), lesion(2, 2, 1, 0, true, 1.0)};
  h.lesions.falsePositives = {0, 1, 0};
  CaseResult e;
  e.caseId = "case_e";
  e.overlap = {overlap(1, 2, 0, 0, 1.0, 1.0), overlap(2, 0, 0, 0, kNan, kNan)};
  e.lesions.lesions = {lesion(1, 1, 2, 0, true, 1.0)};
  e.lesions.falsePositives = {0, 0, 0};
  report.cases = {h, e};
  return report;
}

TEST(EvalReportFiles, CasesCsv) {
  // Lesion-wise Dice: case_h class 1 (0 + 0.75) / (2 + 1 FP), class 2 (4/7 + 1) / 2.
  EvalReport report = workedReport();
  report.cases[0].overlap[0].hd95 = 2.5;
  report.cases[0].overlap[0].assd = std::numeric_limits<double>::infinity();
  TempDir dir;
  writeCasesCsv(report, dir.file("cases.csv"));
  EXPECT_EQ(readText(dir.file("cases.csv")),
            "case,class,dice,iou,hd95,assd,ref_voxels,pred_voxels,ref_lesions,detected_lesions,"
            "fp_lesions,lesion_wise_dice,tp_voxels,fp_voxels,fn_voxels\n"
            "case_h,1,0.6923076923076923,0.5294117647058824,2.5,inf,27,25,2,1,1,0.25,18,7,9\n"
            "case_h,2,0.6666666666666666,0.5,nan,nan,5,4,2,2,0,0.7857142857142857,3,1,2\n"
            "case_e,1,1,1,nan,nan,2,2,1,1,0,1,2,0,0\n"
            "case_e,2,nan,nan,nan,nan,0,0,0,0,0,nan,0,0,0\n");
}

TEST(EvalReportFiles, LesionsCsv) {
  TempDir dir;
  writeLesionsCsv(workedReport(), dir.file("lesions.csv"));
  EXPECT_EQ(readText(dir.file("lesions.csv")),
            "case,class,lesion,voxels,volume_mm3,size_bin,detected,dice,iou,matched_components,"
            "scored\n"
            "case_h,1,1,3,6,0-10,0,0,0,0,1\n"
            "case_h,1,2,24,48,10-100,1,0.75,0,0,1\n"
            "case_h,2,1,4,8,0-10,1,0.5714285714285714,0,0,1\n"
            "case_h,2,2,1,2,0-10,1,1,0,0,1\n"
            "case_e,1,1,2,4,0-10,1,1,0,0,1\n");
}

TEST(EvalReportFiles, SizeBinLabels) {
  const std::vector<double> bins{5.0, 50.0, 500.0};
  EXPECT_EQ(sizeBinLabel(bins, -1), "<5");
  EXPECT_EQ(sizeBinLabel(bins, 0), "5-50");
  EXPECT_EQ(sizeBinLabel(bins, 2), "500-inf");
}

TEST(EvalReportFiles, UnscoredLesionsLeaveCountsBinsAndLesionWiseDice) {
  // BraTS: a lesion at or below the volume threshold is neither tp nor fn, and is in no
  // bin; here case_h's missed 3-voxel lesion of class 1.
  EvalReport report = workedReport();
  report.cases[0].lesions.lesions[0].counted = false;
  const LesionDetection d = lesionDetection(report.cases[0].lesions, 1, EmptyRule::Nan);
  EXPECT_EQ(d.tp, 1);
  EXPECT_EQ(d.fn, 0);
  EXPECT_EQ(d.fp, 1);
  // 0.75 / (1 scored lesion + 1 FP)
  EXPECT_DOUBLE_EQ(lesionWiseDice(report.cases[0].lesions, 1, EmptyRule::Nan), 0.375);
  TempDir dir;
  writeSizeBinsCsv(report, dir.file("b.csv"));
  EXPECT_NE(readText(dir.file("b.csv")).find("\n1,0,10,1,1,1,1\n"), std::string::npos);
  writeLesionsCsv(report, dir.file("l.csv"));
  EXPECT_NE(readText(dir.file("l.csv")).find("\ncase_h,1,1,3,6,0-10,0,0,0,0,0\n"), std::string::npos);
}

TEST(EvalReportFiles, SizeBinsCsv) {
  // Class 1 bin 0: 3-voxel miss (0) + 2-voxel hit (1) -> 2 lesions, 1 found, mean 0.5.
  // Class 2 bin 0: Dice 4/7 and 1 -> mean 11/14.
  TempDir dir;
  writeSizeBinsCsv(workedReport(), dir.file("size_bins.csv"));
  EXPECT_EQ(readText(dir.file("size_bins.csv")),
            "class,bin_low_mm3,bin_high_mm3,lesions,detected,sensitivity,mean_lesion_dice\n"
            "1,0,10,2,1,0.5,0.5\n"
            "1,10,100,1,1,1,0.75\n"
            "1,100,1000,0,0,nan,nan\n"
            "1,1000,inf,0,0,nan,nan\n"
            "2,0,10,2,2,1,0.7857142857142857\n"
            "2,10,100,0,0,nan,nan\n"
            "2,100,1000,0,0,nan,nan\n"
            "2,1000,inf,0,0,nan,nan\n");
}

TEST(EvalReportFiles, CaseIdWithCommaIsQuoted) {
  EvalReport report = workedReport();
  report.cases[0].caseId = "a,\"b\"";
  TempDir dir;
  writeCasesCsv(report, dir.file("p.csv"));
  EXPECT_NE(readText(dir.file("p.csv")).find("\n\"a,\"\"b\"\"\",1,"), std::string::npos);
}

TEST(EvalReportFiles, MetricsJson) {
  TempDir dir;
  EvalReport report = workedReport();
  report.cases[0].overlap[0].hd95 = 3.0;
  report.cases[1].overlap[0].hd95 = std::numeric_limits<double>::infinity();
  writeMetricsJson(report, dir.file("metrics.json"));
  const auto j = nlohmann::json::parse(readText(dir.file("metrics.json")));
  const auto& conv = j.at("conventions");
  EXPECT_EQ(conv.at("empty_rule"), "nan");
  EXPECT_EQ(conv.at("connectivity"), 26);
  EXPECT_EQ(conv.at("match_rule"), "any-overlap");
  EXPECT_TRUE(conv.at("preset").is_null());
  EXPECT_EQ(conv.at("reference_dilation_iterations"), 0);
  EXPECT_EQ(conv.at("size_bins_mm3"), nlohmann::json({0.0, 10.0, 100.0, 1000.0}));
  // The infinite HD95 of case_e is counted, not averaged.
  EXPECT_DOUBLE_EQ(j.at("classes").at(0).at("mean_hd95").get<double>(), 3.0);
  EXPECT_EQ(j.at("classes").at(0).at("cases_with_infinite_distance"), 1);
  EXPECT_TRUE(j.at("cases").at(1).at("classes").at(0).at("hd95").is_null());
  // Size bins: class 1 bin 0-10 has 2 lesions, 1 detected.
  const auto& bin = j.at("size_bins").at(0);
  EXPECT_EQ(bin.at("bin"), "0-10");
  EXPECT_EQ(bin.at("lesions"), 2);
  EXPECT_EQ(bin.at("detected"), 1);
  EXPECT_TRUE(j.at("size_bins").at(3).at("high_mm3").is_null());  // inf
  // Overall: mean over classes of the class means.
  EXPECT_NEAR(j.at("overall").at("mean_dice").get<double>(),
              ((36.0 / 52.0 + 1.0) / 2 + 6.0 / 9.0) / 2, 1e-12);
  EXPECT_EQ(j.at("num_cases"), 2);
  EXPECT_EQ(j.at("num_classes"), 3);

  const auto& c1 = j.at("classes").at(0);
  EXPECT_EQ(c1.at("class"), 1);
  EXPECT_EQ(c1.at("name"), "class 1");
  EXPECT_NEAR(c1.at("mean_dice").get<double>(), (36.0 / 52.0 + 1.0) / 2, 1e-12);
  EXPECT_NEAR(c1.at("mean_iou").get<double>(), (18.0 / 34.0 + 1.0) / 2, 1e-12);
  EXPECT_EQ(c1.at("cases_with_dice"), 2);
  EXPECT_DOUBLE_EQ(c1.at("fp_per_case").get<double>(), 0.5);
  // Pooled: tp 2 (24-voxel lesion, case_e lesion), fn 1, fp 1 -> P = R = F1 = 2/3.
  const auto& pooled = c1.at("lesion_detection_pooled");
  EXPECT_EQ(pooled.at("tp"), 2);
  EXPECT_EQ(pooled.at("fp"), 1);
  EXPECT_EQ(pooled.at("fn"), 1);
  EXPECT_NEAR(pooled.at("precision").get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(pooled.at("recall").get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(pooled.at("f1").get<double>(), 2.0 / 3.0, 1e-12);
  // Per case F1: case_h 2/(2+1+1) = 0.5, case_e 1 -> mean 0.75.
  EXPECT_DOUBLE_EQ(c1.at("lesion_detection_mean_per_case").at("f1").get<double>(), 0.75);
  // Lesion-wise Dice: case_h (0 + 0.75) / (2 + 1 FP) = 0.25, case_e 1 -> 0.625.
  EXPECT_DOUBLE_EQ(c1.at("mean_lesion_wise_dice").get<double>(), 0.625);

  // Class 2: case_e is NaN and ignored by the mean; its lesion F1 is NaN (nothing to find).
  const auto& c2 = j.at("classes").at(1);
  EXPECT_NEAR(c2.at("mean_dice").get<double>(), 6.0 / 9.0, 1e-12);
  EXPECT_EQ(c2.at("cases_with_dice"), 1);
  EXPECT_DOUBLE_EQ(c2.at("fp_per_case").get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(c2.at("lesion_detection_pooled").at("f1").get<double>(), 1.0);
  EXPECT_NEAR(c2.at("mean_lesion_wise_dice").get<double>(), 11.0 / 14.0, 1e-12);

  const auto& e2 = j.at("cases").at(1).at("classes").at(1);
  EXPECT_EQ(j.at("cases").at(1).at("case"), "case_e");
  EXPECT_TRUE(e2.at("dice").is_null());
  EXPECT_TRUE(e2.at("iou").is_null());
  EXPECT_TRUE(e2.at("f1").is_null());
  EXPECT_TRUE(e2.at("lesion_wise_dice").is_null());
  const auto& h1 = j.at("cases").at(0).at("classes").at(0);
  EXPECT_DOUBLE_EQ(h1.at("precision").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(h1.at("recall").get<double>(), 0.5);
}

TEST(EvalReportFiles, WritesAllFilesAtomicallyIntoNewDirectory) {
  TempDir dir;
  const std::string out = dir.path() + "/nested/eval";
  writeEvalReport(workedReport(), out);
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  // No temporary files left behind.
  EXPECT_EQ(names, (std::vector<std::string>{"cases.csv", "lesions.csv", "metrics.json",
                                             "size_bins.csv"}));
  // Rewriting replaces the files in place.
  EvalReport smaller = workedReport();
  smaller.cases.pop_back();
  writeEvalReport(smaller, out);
  EXPECT_EQ(readText(out + "/cases.csv").find("case_e"), std::string::npos);
}

TEST(EvalReportFiles, UnwritableOutputIsAnInputErrorNamingThePath) {
  TempDir dir;
  test::writeText(dir.file("blocker"), "a file, not a directory");
  const std::string out = dir.file("blocker") + "/eval";
  try {
    writeEvalReport(workedReport(), out);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create output directory '" + out + "'"),
              std::string::npos)
        << e.what();
  }
  try {
    writeCasesCsv(workedReport(), out + "/cases.csv");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write '" + out + "/cases.csv'"),
              std::string::npos)
        << e.what();
  }
}

TEST(EvalReportFiles, InconsistentReportIsRejected) {
  EvalReport report = workedReport();
  report.cases[1].overlap.pop_back();
  EXPECT_THROW(validateReport(report), InternalError);
  report = workedReport();
  report.cases[0].lesions.lesions[1].bin = 7;
  EXPECT_THROW(writeEvalReport(report, "/nonexistent-never-created"), InternalError);
  report = workedReport();
  report.lesionOptions.connectivity = 5;
  EXPECT_THROW(validateReport(report), InputError);
}

TEST(EvalReportTables, CaseTable) {
  EXPECT_EQ(formatCaseTable(workedReport()),
            "Dice    class 1  class 2\n"
            "case_h   0.6923   0.6667\n"
            "case_e   1.0000      n/a\n"
            "mean     0.8462   0.6667\n"
            "empty-reference rule: nan; lesions: 26-connected components, detected on any "
            "overlap\n");
}

TEST(EvalReportTables, CaseTableUsesClassNamesAndStatesRule) {
  EvalReport report = workedReport();
  report.classNames = {"background", "enhancing tumour", "oedema"};
  report.emptyRule = EmptyRule::One;
  report.lesionOptions.connectivity = 6;
  const std::string table = formatCaseTable(report);
  EXPECT_EQ(table.substr(0, table.find('\n')), "Dice    enhancing tumour   oedema");
  EXPECT_NE(table.find("empty-reference rule: one; lesions: 6-connected components"),
            std::string::npos);
}

TEST(EvalReportTables, SizeBinTable) {
  EXPECT_EQ(formatSizeBinTable(workedReport()),
            "class  size (mm^3)  lesions  detected  sensitivity  mean Dice\n"
            "1      [0, 10)            2         1        50.0%     0.5000\n"
            "1      [10, 100)          1         1       100.0%     0.7500\n"
            "1      [100, 1000)        0         0          n/a        n/a\n"
            "1      [1000, inf)        0         0          n/a        n/a\n"
            "2      [0, 10)            2         2       100.0%     0.7857\n"
            "2      [10, 100)          0         0          n/a        n/a\n"
            "2      [100, 1000)        0         0          n/a        n/a\n"
            "2      [1000, inf)        0         0          n/a        n/a\n"
            "empty-reference rule: nan; lesions: 26-connected components, detected on any "
            "overlap\n");
}

TEST(EvalReportTables, ConventionsNameMatchRuleAndPreset) {
  EvalReport report = workedReport();
  report.lesionOptions = bratsPreset();
  report.emptyRule = EmptyRule::One;
  EXPECT_EQ(describeConventions(report),
            "empty-reference rule: one; lesions: 26-connected components, detected on any "
            "overlap with the reference dilated 3x; lesions <= 50 mm^3 not scored; preset "
            "brats2023");
  report.lesionOptions = LesionMatchOptions{};
  parseMatchRule("iou:0.25", report.lesionOptions);
  EXPECT_EQ(describeConventions(report),
            "empty-reference rule: one; lesions: 26-connected components, detected on IoU >= 0.25");
}

TEST(EvalReportTables, SizeBinTableMentionsUnbinnedLesions) {
  EvalReport report = workedReport();
  report.lesionOptions.sizeBinsMm3 = {5.0, 50.0};
  for (CaseResult& cs : report.cases) {
    for (Lesion& l : cs.lesions.lesions) l.bin = l.volumeMm3 < 5.0 ? -1 : l.volumeMm3 < 50.0 ? 0 : 1;
  }
  const std::string table = formatSizeBinTable(report);
  EXPECT_NE(table.find("2 lesion(s) below 5 mm^3 are in no bin\n"), std::string::npos) << table;
}

// ---------------------------------------------------------------------------------------
// Lesion detection summaries

TEST(EvalReportLesionDetection, EmptyRuleAppliesOnlyWhenNothingToFindOrFound) {
  CaseLesions none;
  none.falsePositives = {0, 0};
  for (auto [rule, value] : {std::pair{EmptyRule::One, 1.0}, {EmptyRule::Zero, 0.0}}) {
    const LesionDetection d = lesionDetection(none, 1, rule);
    EXPECT_EQ(d.precision, value);
    EXPECT_EQ(d.recall, value);
    EXPECT_EQ(d.f1, value);
    EXPECT_EQ(lesionWiseDice(none, 1, rule), value);
  }
  EXPECT_TRUE(std::isnan(lesionDetection(none, 1, EmptyRule::Nan).f1));

  // Only false positives: precision 0, recall undefined (NaN whatever the rule), F1 0.
  CaseLesions fpOnly;
  fpOnly.falsePositives = {0, 2};
  const LesionDetection d = lesionDetection(fpOnly, 1, EmptyRule::One);
  EXPECT_EQ(d.fp, 2);
  EXPECT_EQ(d.precision, 0.0);
  EXPECT_TRUE(std::isnan(d.recall));
  EXPECT_EQ(d.f1, 0.0);
  EXPECT_EQ(lesionWiseDice(fpOnly, 1, EmptyRule::One), 0.0);
}

TEST(EvalReportLesionDetection, MeanIgnoresNan) {
  EXPECT_DOUBLE_EQ(meanIgnoringNan({1.0, kNan, 0.5}), 0.75);
  EXPECT_TRUE(std::isnan(meanIgnoringNan({kNan})));
  EXPECT_TRUE(std::isnan(meanIgnoringNan({})));
}

TEST(EvalReportLesionDetection, EvaluateCaseUsesReportSettings) {
  // Edge-touching pair: one lesion at 26 (found), two at 6 (one found, one missed).
  LabelVolume ref = test::makeLabels(3, 3, 1), pred = test::makeLabels(3, 3, 1);
  ref.data[test::at(ref.geometry, 0, 0, 0)] = 1;
  ref.data[test::at(ref.geometry, 1, 1, 0)] = 1;
  pred.data[test::at(pred.geometry, 0, 0, 0)] = 1;
  EvalReport settings;
  settings.numClasses = 2;
  const CaseResult r26 = evaluateCase("x", pred, ref, settings);
  EXPECT_EQ(r26.caseId, "x");
  ASSERT_EQ(r26.overlap.size(), 1u);
  EXPECT_DOUBLE_EQ(r26.overlap[0].dice, 2.0 / 3.0);
  EXPECT_EQ(r26.lesions.lesions.size(), 1u);
  // Surface distances are filled in: ref {(0,0), (1,1)}, pred {(0,0)}: pred->ref {0},
  // ref->pred {0, sqrt 2}; HD95 = max(0, 0.95 sqrt 2); ASSD = sqrt 2 / 3.
  EXPECT_NEAR(r26.overlap[0].hd95, 0.95 * std::sqrt(2.0), 1e-9);
  EXPECT_NEAR(r26.overlap[0].assd, std::sqrt(2.0) / 3.0, 1e-9);
  settings.lesionOptions.connectivity = 6;
  settings.cases = {evaluateCase("x", pred, ref, settings)};
  EXPECT_EQ(settings.cases[0].lesions.lesions.size(), 2u);
  EXPECT_DOUBLE_EQ(pooledLesionDetection(settings, 1).recall, 0.5);
}

}  // namespace
}  // namespace seg
