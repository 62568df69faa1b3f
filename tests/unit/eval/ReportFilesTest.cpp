#include "eval/ReportFiles.h"

#include "eval/ReportFormat.h"
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/Error.h"
#include "support/TestUtil.h"
#include "support/WorkedReport.h"

namespace seg {
namespace {

using test::lesion;
using test::overlap;
using test::readText;
using test::TempDir;
using test::workedReport;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

TEST(EvalReportFiles, CasesCsv) {
  // Lesion-wise Dice: case_h class 1 (0 + 0.75) / (2 + 1 FP), class 2 (4/7 + 1) / 2.
  EvalReport report = workedReport();
  report.cases[0].overlap[0].hd95 = 2.5;
  report.cases[0].overlap[0].assd = std::numeric_limits<double>::infinity();
  TempDir dir;
  writeCasesCsv(report, dir.file("cases.csv"));
  EXPECT_EQ(readText(dir.file("cases.csv")),
            "case,class,dice,iou,hd95,assd,ref_voxels,pred_voxels,ref_lesions,detected_lesions,"
            "fp_lesions,lesion_wise_dice,tp_voxels,fp_voxels,fn_voxels,class_name\n"
            "case_h,1,0.6923076923076923,0.5294117647058824,2.5,inf,27,25,2,1,1,0.25,18,7,9,class 1\n"
            "case_h,2,0.6666666666666666,0.5,nan,nan,5,4,2,2,0,0.7857142857142857,3,1,2,class 2\n"
            "case_e,1,1,1,nan,nan,2,2,1,1,0,1,2,0,0,class 1\n"
            "case_e,2,nan,nan,nan,nan,0,0,0,0,0,nan,0,0,0,class 2\n");
}

TEST(EvalReportFiles, LesionsCsv) {
  TempDir dir;
  writeLesionsCsv(workedReport(), dir.file("lesions.csv"));
  EXPECT_EQ(readText(dir.file("lesions.csv")),
            "case,class,lesion,voxels,volume_mm3,size_bin,detected,dice,iou,matched_components,"
            "scored,class_name\n"
            "case_h,1,1,3,6,0-10,0,0,0,0,1,class 1\n"
            "case_h,1,2,24,48,10-100,1,0.75,0,0,1,class 1\n"
            "case_h,2,1,4,8,0-10,1,0.5714285714285714,0,0,1,class 2\n"
            "case_h,2,2,1,2,0-10,1,1,0,0,1,class 2\n"
            "case_e,1,1,2,4,0-10,1,1,0,0,1,class 1\n");
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
  EXPECT_NE(readText(dir.file("b.csv")).find("\n1,0,10,1,1,1,1,class 1\n"), std::string::npos);
  writeLesionsCsv(report, dir.file("l.csv"));
  EXPECT_NE(readText(dir.file("l.csv")).find("\ncase_h,1,1,3,6,0-10,0,0,0,0,0,class 1\n"), std::string::npos);
}

TEST(EvalReportFiles, SizeBinsCsv) {
  // Class 1 bin 0: 3-voxel miss (0) + 2-voxel hit (1) -> 2 lesions, 1 found, mean 0.5.
  // Class 2 bin 0: Dice 4/7 and 1 -> mean 11/14.
  TempDir dir;
  writeSizeBinsCsv(workedReport(), dir.file("size_bins.csv"));
  EXPECT_EQ(readText(dir.file("size_bins.csv")),
            "class,bin_low_mm3,bin_high_mm3,lesions,detected,sensitivity,mean_lesion_dice,class_name\n"
            "1,0,10,2,1,0.5,0.5,class 1\n"
            "1,10,100,1,1,1,0.75,class 1\n"
            "1,100,1000,0,0,nan,nan,class 1\n"
            "1,1000,inf,0,0,nan,nan,class 1\n"
            "2,0,10,2,2,1,0.7857142857142857,class 2\n"
            "2,10,100,0,0,nan,nan,class 2\n"
            "2,100,1000,0,0,nan,nan,class 2\n"
            "2,1000,inf,0,0,nan,nan,class 2\n");
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
}  // namespace
}  // namespace seg
