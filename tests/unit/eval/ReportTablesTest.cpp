#include "eval/ReportTables.h"

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
}  // namespace
}  // namespace seg
