// Reports of a region-based evaluation: every per-class table names the regions, and the
// files state the encoding used (regions and their labels, the ignore label).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "eval/ReportFiles.h"
#include "eval/ReportFormat.h"
#include "eval/ReportTables.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::readText;
using test::TempDir;

LabelVolume line(std::vector<uint8_t> values) {
  LabelVolume v;
  v.geometry.size = {static_cast<int64_t>(values.size()), 1, 1};
  v.data = std::move(values);
  return v;
}

EvalReport bratsReport() {
  EvalReport r;
  r.encoding.regions = {{1, 2, 3}, {2, 3}, {3}};
  r.encoding.regionNames = {"whole tumor", "tumor core", "enhancing tumor"};
  r.encoding.regionsClassOrder = {1, 2, 3};
  r.encoding.ignoreLabel = 4;
  r.numClasses = 4;
  r.surfaceDistances = false;
  // WT: ref {0,1,2}, pred {0,1,2,6} (Dice 6/7); TC 4/5; ET 2/3; voxels 3, 4 ignored.
  r.cases.push_back(evaluateCase("case_a", line({1, 2, 3, 3, 1, 0, 3}), line({1, 2, 3, 4, 4, 0, 0}), r));
  return r;
}

TEST(RegionReport, DescribesTheEncoding) {
  const EvalReport r = bratsReport();
  EXPECT_EQ(describeEncoding(r.encoding),
            "regions: whole tumor [1,2,3], tumor core [2,3], enhancing tumor [3]; ignore label 4");
  EXPECT_EQ(describeEncoding(LabelEncoding{}), "classes");
  LabelEncoding ignoreOnly;
  ignoreOnly.ignoreLabel = 3;
  EXPECT_EQ(describeEncoding(ignoreOnly), "ignore label 3");
  EXPECT_EQ(className(r, 2), "tumor core");
  EvalReport unnamed = r;
  unnamed.encoding.regionNames = {"", "", ""};
  EXPECT_EQ(className(unnamed, 3), "region 3");
}

TEST(RegionReport, TablesAreByRegion) {
  const EvalReport r = bratsReport();
  const std::string table = formatCaseTable(r);
  EXPECT_EQ(table.substr(0, table.find('\n')), "Dice    whole tumor  tumor core  enhancing tumor");
  EXPECT_NE(table.find("case_a       0.8571      0.8000           0.6667"), std::string::npos) << table;
  EXPECT_NE(table.find("; regions: whole tumor [1,2,3], tumor core [2,3], enhancing tumor [3]; ignore label 4"),
            std::string::npos);
  EXPECT_NE(formatSizeBinTable(r).find("enhancing tumor"), std::string::npos);
}

TEST(RegionReport, FilesNameRegionsAndEncoding) {
  const EvalReport r = bratsReport();
  TempDir dir;
  writeEvalReport(r, dir.path());
  const std::string cases = readText(dir.file("cases.csv"));
  EXPECT_NE(cases.find("\ncase_a,1,0.8571428571428571,"), std::string::npos) << cases;
  EXPECT_NE(cases.find(",whole tumor\n"), std::string::npos);
  EXPECT_NE(cases.find(",enhancing tumor\n"), std::string::npos);
  EXPECT_NE(readText(dir.file("lesions.csv")).find(",tumor core\n"), std::string::npos);
  EXPECT_NE(readText(dir.file("size_bins.csv")).find(",tumor core\n"), std::string::npos);
  const auto j = nlohmann::json::parse(readText(dir.file("metrics.json")));
  const auto& enc = j.at("conventions").at("label_encoding");
  EXPECT_EQ(enc.at("scored_as"), "regions");
  EXPECT_EQ(enc.at("ignore_label"), 4);
  EXPECT_EQ(enc.at("regions").at(1).at("name"), "tumor core");
  EXPECT_EQ(enc.at("regions").at(1).at("labels"), nlohmann::json({2, 3}));
  EXPECT_EQ(j.at("classes").at(2).at("name"), "enhancing tumor");
  EXPECT_EQ(j.at("classes").at(0).at("region_labels"), nlohmann::json({1, 2, 3}));
  EXPECT_NEAR(j.at("classes").at(1).at("mean_dice").get<double>(), 0.8, 1e-12);
  EXPECT_EQ(j.at("cases").at(0).at("classes").at(0).at("name"), "whole tumor");
}

TEST(RegionReport, PlainClassesSayClasses) {
  EvalReport r;
  r.numClasses = 2;
  r.surfaceDistances = false;
  r.cases.push_back(evaluateCase("c", line({1, 0}), line({1, 0}), r));
  TempDir dir;
  writeMetricsJson(r, dir.file("m.json"));
  const auto j = nlohmann::json::parse(readText(dir.file("m.json")));
  EXPECT_EQ(j.at("conventions").at("label_encoding").at("scored_as"), "classes");
  EXPECT_TRUE(j.at("conventions").at("label_encoding").at("ignore_label").is_null());
  EXPECT_FALSE(j.at("classes").at(0).contains("region_labels"));
  EXPECT_EQ(formatCaseTable(r).find("regions"), std::string::npos);
}

}  // namespace
}  // namespace seg
