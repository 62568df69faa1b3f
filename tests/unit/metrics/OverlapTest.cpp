#include "metrics/Overlap.h"

#include "metrics/LesionMatching.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <limits>
#include <random>
#include <set>
#include <tuple>

#include "core/Error.h"
#include "support/LabelFixtures.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::at;
using test::expectSameDouble;
using test::fill;
using test::makeLabels;
using test::WorkedExample;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------
// Empty rule and voxel overlap

TEST(OverlapEmptyRule, ParsesAndPrints) {
  EXPECT_EQ(parseEmptyRule("nan"), EmptyRule::Nan);
  EXPECT_EQ(parseEmptyRule("one"), EmptyRule::One);
  EXPECT_EQ(parseEmptyRule("Zero"), EmptyRule::Zero);
  for (EmptyRule r : {EmptyRule::Nan, EmptyRule::One, EmptyRule::Zero}) {
    EXPECT_EQ(parseEmptyRule(toString(r)), r);
  }
  try {
    parseEmptyRule("1");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "empty rule: expected 'nan', 'one' or 'zero', got '1'");
  }
}

struct OverlapCase {
  const char* name;
  // voxels of class 1 in a 4x1x1 line, as strings over x: '1' = class 1
  const char* ref;
  const char* pred;
  EmptyRule rule;
  double dice, iou;
  int64_t tp, fp, fn;
};

class OverlapTable : public ::testing::TestWithParam<OverlapCase> {};

TEST_P(OverlapTable, MatchesHandComputedValues) {
  const OverlapCase& c = GetParam();
  LabelVolume ref = makeLabels(4, 1, 1), pred = makeLabels(4, 1, 1);
  for (int x = 0; x < 4; ++x) {
    ref.data[x] = static_cast<uint8_t>(c.ref[x] - '0');
    pred.data[x] = static_cast<uint8_t>(c.pred[x] - '0');
  }
  const auto rows = overlapPerClass(pred, ref, 2, c.rule);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].classIndex, 1);
  EXPECT_EQ(rows[0].tp, c.tp);
  EXPECT_EQ(rows[0].fp, c.fp);
  EXPECT_EQ(rows[0].fn, c.fn);
  EXPECT_EQ(rows[0].refVoxels, c.tp + c.fn);
  EXPECT_EQ(rows[0].predVoxels, c.tp + c.fp);
  expectSameDouble(c.dice, rows[0].dice, "dice");
  expectSameDouble(c.iou, rows[0].iou, "iou");
}

INSTANTIATE_TEST_SUITE_P(
    Table, OverlapTable,
    ::testing::Values(
        OverlapCase{"perfect", "0110", "0110", EmptyRule::Nan, 1.0, 1.0, 2, 0, 0},
        OverlapCase{"disjoint", "1100", "0011", EmptyRule::Nan, 0.0, 0.0, 0, 2, 2},
        // tp 1, fp 1, fn 2: Dice 2/(2+1+2), IoU 1/4
        OverlapCase{"partial", "1110", "0011", EmptyRule::Nan, 0.4, 0.25, 1, 1, 2},
        // Empty reference, non-empty prediction: a plain 0 whatever the rule.
        OverlapCase{"ref_empty_nan", "0000", "0100", EmptyRule::Nan, 0.0, 0.0, 0, 1, 0},
        OverlapCase{"ref_empty_one", "0000", "0100", EmptyRule::One, 0.0, 0.0, 0, 1, 0},
        OverlapCase{"pred_empty", "0100", "0000", EmptyRule::One, 0.0, 0.0, 0, 0, 1},
        OverlapCase{"both_empty_nan", "0000", "0000", EmptyRule::Nan, kNan, kNan, 0, 0, 0},
        OverlapCase{"both_empty_one", "0000", "0000", EmptyRule::One, 1.0, 1.0, 0, 0, 0},
        OverlapCase{"both_empty_zero", "0000", "0000", EmptyRule::Zero, 0.0, 0.0, 0, 0, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(OverlapClasses, WorkedExamplePerClass) {
  WorkedExample ex;
  const auto rows = overlapPerClass(ex.pred, ex.ref, 3, EmptyRule::Nan);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].tp, 18);
  EXPECT_EQ(rows[0].fp, 7);
  EXPECT_EQ(rows[0].fn, 9);
  EXPECT_DOUBLE_EQ(rows[0].dice, 36.0 / 52.0);
  EXPECT_DOUBLE_EQ(rows[0].iou, 18.0 / 34.0);
  EXPECT_EQ(rows[1].classIndex, 2);
  EXPECT_EQ(rows[1].refVoxels, 5);
  EXPECT_EQ(rows[1].predVoxels, 4);
  EXPECT_DOUBLE_EQ(rows[1].dice, 6.0 / 9.0);
  EXPECT_DOUBLE_EQ(rows[1].iou, 0.5);
}

TEST(OverlapClasses, MislabelledVoxelCountsForBothClasses) {
  // One voxel of class 1 predicted as 2: fn for class 1 and fp for class 2.
  LabelVolume ref = makeLabels(2, 1, 1), pred = makeLabels(2, 1, 1);
  ref.data = {1, 2};
  pred.data = {2, 2};
  const auto rows = overlapPerClass(pred, ref, 3, EmptyRule::Nan);
  EXPECT_EQ(rows[0].fn, 1);
  EXPECT_EQ(rows[0].fp, 0);
  EXPECT_EQ(rows[1].tp, 1);
  EXPECT_EQ(rows[1].fp, 1);
  EXPECT_DOUBLE_EQ(rows[0].dice, 0.0);
  EXPECT_DOUBLE_EQ(rows[1].dice, 2.0 / 3.0);
}

TEST(OverlapErrors, GridSizeMismatchNamesBothSizes) {
  LabelVolume pred = makeLabels(4, 3, 2), ref = makeLabels(4, 3, 3);
  try {
    overlapPerClass(pred, ref, 2, EmptyRule::Nan);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "overlapPerClass: prediction (4,3,2) and reference (4,3,3) are not on the same "
                 "grid (sizes differ)");
  }
  EXPECT_THROW(matchLesions(pred, ref, 2, {}), InputError);
}

TEST(OverlapErrors, SpacingMismatchSaysWhichAttribute) {
  LabelVolume pred = makeLabels(4, 3, 2), ref = makeLabels(4, 3, 2);
  ref.geometry.spacing = {1.0, 1.0, 2.5};
  try {
    matchLesions(pred, ref, 2, {});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "matchLesions: prediction (4,3,2) and reference (4,3,2) are not on the same grid "
                 "(spacing (1,1,1) vs (1,1,2.5))");
  }
}

TEST(OverlapErrors, LabelOutOfRangeNamesTheValue) {
  LabelVolume pred = makeLabels(3, 1, 1), ref = makeLabels(3, 1, 1);
  pred.data = {0, 5, 1};
  try {
    overlapPerClass(pred, ref, 3, EmptyRule::Nan);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "overlapPerClass: prediction contains label 5 but numClasses is 3 (labels must "
                 "be 0..2)");
  }
  ref.data = {3, 0, 0};
  pred.data = {0, 0, 0};
  EXPECT_THROW(matchLesions(pred, ref, 3, {}), InputError);
}

TEST(OverlapErrors, BufferSizeDisagreesWithGeometry) {
  LabelVolume pred = makeLabels(3, 1, 1), ref = makeLabels(3, 1, 1);
  ref.data.resize(2);
  EXPECT_THROW(overlapPerClass(pred, ref, 2, EmptyRule::Nan), InputError);
}
}  // namespace
}  // namespace seg
