#include "metrics/LesionMatching.h"

#include "core/ConnectedComponents.h"
#include "metrics/EvalReport.h"
#include "metrics/Overlap.h"

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
// Lesion matching

TEST(LesionMatching, WorkedExample) {
  WorkedExample ex;
  const CaseLesions result = matchLesions(ex.pred, ex.ref, 3, {});
  struct Expected {
    int classIndex, id;
    int64_t voxels;
    double volume;
    int bin;
    bool detected;
    double dice;
  };
  const std::vector<Expected> expected{
      {1, 1, 3, 6.0, 0, false, 0.0},
      {1, 2, 24, 48.0, 1, true, 0.75},
      {2, 1, 4, 8.0, 0, true, 4.0 / 7.0},
      {2, 2, 1, 2.0, 0, true, 1.0},
  };
  ASSERT_EQ(result.lesions.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const Lesion& l = result.lesions[i];
    SCOPED_TRACE("lesion " + std::to_string(i));
    EXPECT_EQ(l.classIndex, expected[i].classIndex);
    EXPECT_EQ(l.id, expected[i].id);
    EXPECT_EQ(l.voxels, expected[i].voxels);
    EXPECT_DOUBLE_EQ(l.volumeMm3, expected[i].volume);
    EXPECT_EQ(l.bin, expected[i].bin);
    EXPECT_EQ(l.detected, expected[i].detected);
    EXPECT_DOUBLE_EQ(l.dice, expected[i].dice);
  }
  EXPECT_EQ(result.lesions[1].overlapVoxels, 18);
  EXPECT_EQ(result.lesions[1].predVoxels, 24);
  EXPECT_EQ(result.lesions[2].predVoxels, 3);  // union of the two touching components
  EXPECT_EQ(result.lesions[0].firstVoxel, at(ex.ref.geometry, 1, 1, 0));
  EXPECT_EQ(result.falsePositives, (std::vector<int64_t>{0, 1, 0}));
}

TEST(LesionMatching, PredictedComponentSpanningTwoLesionsCountsForBoth) {
  // Reference: two voxels two apart; prediction: a bar covering both and the gap.
  LabelVolume ref = makeLabels(5, 1, 1), pred = makeLabels(5, 1, 1);
  ref.data = {1, 0, 1, 0, 0};
  pred.data = {1, 1, 1, 0, 1};
  const CaseLesions result = matchLesions(pred, ref, 2, {});
  ASSERT_EQ(result.lesions.size(), 2u);
  // Each lesion: overlap 1, union 3 -> 2/(1+3).
  EXPECT_DOUBLE_EQ(result.lesions[0].dice, 0.5);
  EXPECT_DOUBLE_EQ(result.lesions[1].dice, 0.5);
  EXPECT_EQ(result.falsePositives[1], 1);  // the lone voxel at x=4
}

TEST(LesionMatching, ConnectivityChangesLesionCount) {
  // Two voxels touching at an edge: one lesion under 18/26, two under 6.
  LabelVolume ref = makeLabels(3, 3, 1), pred = makeLabels(3, 3, 1);
  ref.data[at(ref.geometry, 0, 0, 0)] = 1;
  ref.data[at(ref.geometry, 1, 1, 0)] = 1;
  pred.data[at(pred.geometry, 0, 0, 0)] = 1;
  LesionMatchOptions options;
  options.connectivity = 6;
  const CaseLesions six = matchLesions(pred, ref, 2, options);
  ASSERT_EQ(six.lesions.size(), 2u);
  EXPECT_TRUE(six.lesions[0].detected);
  EXPECT_FALSE(six.lesions[1].detected);
  options.connectivity = 18;
  const CaseLesions eighteen = matchLesions(pred, ref, 2, options);
  ASSERT_EQ(eighteen.lesions.size(), 1u);
  EXPECT_TRUE(eighteen.lesions[0].detected);
  EXPECT_DOUBLE_EQ(eighteen.lesions[0].dice, 2.0 / 3.0);
}

TEST(LesionMatching, BinLowerEdgeIsInclusive) {
  // 5 voxels of 2 mm^3 = exactly 10 mm^3: bin 1 of {0, 10, 100, 1000}.
  LabelVolume ref = makeLabels(5, 1, 1, 1.0), pred = makeLabels(5, 1, 1, 1.0);
  ref.geometry.spacing = pred.geometry.spacing = {1.0, 1.0, 2.0};
  ref.data = {1, 1, 1, 1, 1};
  EXPECT_EQ(matchLesions(pred, ref, 2, {}).lesions[0].bin, 1);
  ref.data = {1, 1, 1, 1, 0};
  EXPECT_EQ(matchLesions(pred, ref, 2, {}).lesions[0].bin, 0);
  LesionMatchOptions options;
  options.sizeBinsMm3 = {10.0, 50.0};
  EXPECT_EQ(matchLesions(pred, ref, 2, options).lesions[0].bin, -1);  // below the first edge
}

TEST(LesionMatching, RejectsBadOptions) {
  LabelVolume v = makeLabels(2, 1, 1);
  auto message = [&](LesionMatchOptions o) {
    try {
      matchLesions(v, v, 2, o);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  LesionMatchOptions o;
  o.connectivity = 4;
  EXPECT_EQ(message(o), "lesion matching: connectivity must be 6, 18 or 26, got 4");
  o = {};
  o.sizeBinsMm3 = {};
  EXPECT_EQ(message(o), "lesion matching: size bins must not be empty");
  o.sizeBinsMm3 = {0, 100, 10};
  EXPECT_EQ(message(o), "lesion matching: size bin edges must be strictly increasing, got [0, 100, 10]");
  o.sizeBinsMm3 = {0, 10, 10};
  EXPECT_EQ(message(o), "lesion matching: size bin edges must be strictly increasing, got [0, 10, 10]");
  o.sizeBinsMm3 = {-1, 10};
  EXPECT_EQ(message(o), "lesion matching: the first size bin edge must be >= 0 mm^3, got [-1, 10]");
}

// ---------------------------------------------------------------------------------------
// Match rules, dilation

TEST(LesionMatchRules, ParsesAnyAndIou) {
  LesionMatchOptions o;
  parseMatchRule("iou:0.3", o);
  EXPECT_EQ(o.match, MatchRule::Iou);
  EXPECT_DOUBLE_EQ(o.iouThreshold, 0.3);
  EXPECT_EQ(describeMatchRule(o), "iou>=0.3");
  parseMatchRule("any", o);
  EXPECT_EQ(o.match, MatchRule::AnyOverlap);
  for (const char* bad : {"iou:0", "iou:1.5", "iou:", "iou:x", "dice:0.5"}) {
    try {
      parseMatchRule(bad, o);
      FAIL() << "expected InputError for " << bad;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()), std::string("match rule: expected 'any' or 'iou:T' with T in "
                                                   "(0, 1], got '") + bad + "'");
    }
  }
}

TEST(LesionMatchRules, IouMatchingRejectsSmallOverlapsAsMissesAndFalsePositives) {
  // Lesion x0..3 (4 voxels); prediction x3..5 overlaps 1 voxel: IoU 1/6. Any-overlap
  // detects it (Dice 2/7); iou:0.5 misses it and counts the component as a FP.
  LabelVolume ref = makeLabels(8, 1, 1), pred = makeLabels(8, 1, 1);
  fill(ref, 0, 3, 0, 0, 0, 0, 1);
  fill(pred, 3, 5, 0, 0, 0, 0, 1);
  LesionMatchOptions o;
  CaseLesions any = matchLesions(pred, ref, 2, o);
  EXPECT_TRUE(any.lesions[0].detected);
  EXPECT_NEAR(any.lesions[0].dice, 2.0 / 7.0, 1e-12);
  EXPECT_NEAR(any.lesions[0].iou, 1.0 / 6.0, 1e-12);
  EXPECT_EQ(any.falsePositives[1], 0);
  parseMatchRule("iou:0.5", o);
  CaseLesions strict = matchLesions(pred, ref, 2, o);
  EXPECT_FALSE(strict.lesions[0].detected);
  EXPECT_EQ(strict.lesions[0].dice, 0.0);
  EXPECT_EQ(strict.falsePositives[1], 1);
  parseMatchRule("iou:0.1", o);
  EXPECT_TRUE(matchLesions(pred, ref, 2, o).lesions[0].detected);
}

TEST(LesionMatchRules, Dilate18IsTheCrossWithEdgesNotCorners) {
  std::vector<uint8_t> mask(27, 0);
  mask[13] = 1;  // centre of 3x3x3
  const auto once = dilate18(mask, {3, 3, 3}, 1);
  EXPECT_EQ(std::count(once.begin(), once.end(), 1), 19);  // centre + 18
  EXPECT_EQ(once[0], 0);                                    // corner
  EXPECT_EQ(once[1], 1);                                    // edge (x1, y0, z0)
  EXPECT_EQ(dilate18(mask, {3, 3, 3}, 2)[0], 1);
}

TEST(LesionMatchRules, BratsDilationGroupsNearbyLesionsAndDropsSmallOnes) {
  // Two 27-voxel cubes 3 voxels apart (merged by 3 dilations), a 1-voxel lesion far away
  // (not scored: 1 mm^3 <= 50) that the prediction hits, and a FP blob.
  LabelVolume ref = makeLabels(30, 10, 10), pred = makeLabels(30, 10, 10);
  fill(ref, 1, 3, 1, 3, 1, 3, 1);
  fill(ref, 7, 9, 1, 3, 1, 3, 1);
  fill(ref, 25, 25, 8, 8, 8, 8, 1);
  fill(pred, 1, 3, 1, 3, 1, 3, 1);   // first cube exactly
  fill(pred, 25, 25, 8, 8, 8, 8, 1); // the small lesion
  fill(pred, 18, 19, 8, 8, 0, 0, 1); // far from every lesion: FP
  LesionMatchOptions o = bratsPreset();
  const CaseLesions r = matchLesions(pred, ref, 2, o);
  ASSERT_EQ(r.lesions.size(), 2u);
  EXPECT_EQ(r.lesions[0].voxels, 54);
  EXPECT_TRUE(r.lesions[0].counted);
  EXPECT_NEAR(r.lesions[0].dice, 2.0 * 27 / (54 + 27), 1e-12);
  EXPECT_FALSE(r.lesions[1].counted);
  EXPECT_TRUE(r.lesions[1].detected);
  EXPECT_EQ(r.falsePositives[1], 1);  // the small lesion's match is not a FP
  EXPECT_NEAR(lesionWiseDice(r, 1, EmptyRule::One), (2.0 / 3.0) / 2.0, 1e-12);
  // A component only touching the dilated region matches but shares no voxel: Dice 0.
  LabelVolume near = makeLabels(30, 10, 10);
  fill(near, 5, 5, 2, 2, 2, 2, 1);  // between the cubes
  const CaseLesions n = matchLesions(near, ref, 2, o);
  EXPECT_TRUE(n.lesions[0].detected);
  EXPECT_EQ(n.lesions[0].dice, 0.0);
  EXPECT_EQ(n.falsePositives[1], 0);
}

TEST(LesionMatchRules, RejectsBadThresholdsAndDilation) {
  LesionMatchOptions o;
  o.match = MatchRule::Iou;
  o.iouThreshold = 0.0;
  EXPECT_THROW(validateLesionMatchOptions(o), InputError);
  o = LesionMatchOptions{};
  o.referenceDilation = -1;
  EXPECT_THROW(validateLesionMatchOptions(o), InputError);
  o = LesionMatchOptions{};
  o.minLesionVolumeMm3 = -1;
  EXPECT_THROW(validateLesionMatchOptions(o), InputError);
}
}  // namespace
}  // namespace seg
