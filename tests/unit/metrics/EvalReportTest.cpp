#include "metrics/EvalReport.h"

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
