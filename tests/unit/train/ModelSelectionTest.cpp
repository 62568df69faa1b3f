#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/Error.h"
#include "train/ModelSelection.h"

namespace seg {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

TEST(ModelSelectionTest, ParsesTheThreeCriteriaAndNamesThemBack) {
  for (const char* name : {"pseudo_dice", "lesion_f1", "lesion_sensitivity"})
    EXPECT_STREQ(selectByName(parseSelectBy(name)), name);
  EXPECT_FALSE(needsFullValidation(SelectBy::PseudoDice));
  EXPECT_TRUE(needsFullValidation(SelectBy::LesionF1));
  EXPECT_TRUE(needsFullValidation(SelectBy::LesionSensitivity));
  try {
    parseSelectBy("dice");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "train.select_by: expected one of pseudo_dice, lesion_f1, lesion_sensitivity, got 'dice'");
  }
}

TEST(ModelSelectionTest, ImprovesOnlyWhenStrictlyGreater) {
  EXPECT_TRUE(isImprovement(0.0, -1.0));  // the first score, even 0, beats "none yet"
  EXPECT_TRUE(isImprovement(0.5, 0.4));
  EXPECT_FALSE(isImprovement(0.4, 0.4));  // a tie keeps the earlier checkpoint
  EXPECT_FALSE(isImprovement(0.3, 0.4));
}

TEST(ModelSelectionTest, NanNeverImproves) {
  EXPECT_FALSE(isImprovement(kNan, -1.0));
  EXPECT_FALSE(isImprovement(kNan, 0.2));
}

// Per-class lesion counts by hand: class 1 TP 3, FN 1, FP 2 -> F1 6/9, sensitivity 3/4;
// class 2 TP 1, FN 1, FP 0 -> F1 2/3, sensitivity 1/2; class 3 without any lesion (NaN).
TEST(ModelSelectionTest, MeanOverClassesSkipsClassesWithoutAScore) {
  EXPECT_NEAR(meanOverClasses({6.0 / 9.0, 2.0 / 3.0, kNan}), 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(meanOverClasses({3.0 / 4.0, 1.0 / 2.0, kNan}), 5.0 / 8.0, 1e-15);
  EXPECT_TRUE(std::isnan(meanOverClasses({kNan, kNan})));
  EXPECT_TRUE(std::isnan(meanOverClasses({})));
  EXPECT_FALSE(isImprovement(meanOverClasses({kNan}), -1.0));
}

}  // namespace
}  // namespace seg
