// Region-based scoring and the ignore label in evaluateCase (docs/evaluation.md): hand-made
// label maps on a 1-voxel-thick line, every expected value worked out by hand in the
// comments (tp/fp/fn per region, components along the line).
#include <gtest/gtest.h>

#include <cmath>

#include "core/Error.h"
#include "metrics/EvalReport.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::errorOf;

LabelVolume line(std::vector<uint8_t> values) {
  LabelVolume v;
  v.geometry.size = {static_cast<int64_t>(values.size()), 1, 1};
  v.data = std::move(values);
  return v;
}

// nnunetv2 Dataset137_BraTS21: whole tumour {1,2,3}, tumour core {2,3}, enhancing {3}.
LabelEncoding brats(int ignore = -1) {
  LabelEncoding e;
  e.regions = {{1, 2, 3}, {2, 3}, {3}};
  e.regionNames = {"whole tumor", "tumor core", "enhancing tumor"};
  e.regionsClassOrder = {1, 2, 3};
  e.ignoreLabel = ignore;
  return e;
}

EvalReport settingsFor(const LabelEncoding& e, int numClasses) {
  EvalReport s;
  s.encoding = e;
  s.numClasses = numClasses;
  s.surfaceDistances = false;
  return s;
}

int64_t lesionsOf(const CaseResult& r, int c) {
  int64_t n = 0;
  for (const Lesion& l : r.lesions.lesions) n += l.classIndex == c ? 1 : 0;
  return n;
}

TEST(RegionScoring, DicePerRegionByHand) {
  //            index: 0  1  2  3  4  5  6  7  8  9
  const LabelVolume ref = line({0, 1, 1, 2, 2, 3, 3, 0, 0, 0});
  const LabelVolume pred = line({0, 1, 2, 2, 3, 3, 0, 0, 1, 0});
  const EvalReport s = settingsFor(brats(), 4);
  const CaseResult r = evaluateCase("brats", pred, ref, s);
  ASSERT_EQ(r.overlap.size(), 3u);
  // WT: ref {1..6}, pred {1..5, 8}: tp 5, fp 1, fn 1 -> 10/12.
  EXPECT_EQ(r.overlap[0].classIndex, 1);
  EXPECT_EQ(r.overlap[0].tp, 5);
  EXPECT_EQ(r.overlap[0].fp, 1);
  EXPECT_EQ(r.overlap[0].fn, 1);
  EXPECT_DOUBLE_EQ(r.overlap[0].dice, 10.0 / 12.0);
  // TC: ref {3..6}, pred {2..5}: tp 3, fp 1, fn 1 -> 6/8.
  EXPECT_EQ(r.overlap[1].classIndex, 2);
  EXPECT_DOUBLE_EQ(r.overlap[1].dice, 0.75);
  // ET: ref {5, 6}, pred {4, 5}: tp 1, fp 1, fn 1 -> 2/4.
  EXPECT_EQ(r.overlap[2].classIndex, 3);
  EXPECT_DOUBLE_EQ(r.overlap[2].dice, 0.5);
  EXPECT_DOUBLE_EQ(r.overlap[2].iou, 1.0 / 3.0);
  // As plain classes the same maps give label 3 Dice 2/4 too, but label 1 only
  // ref {1,2} vs pred {1,8}: 2/4; regions are not classes.
  const CaseResult classes = evaluateCase("brats", pred, ref, settingsFor(LabelEncoding{}, 4));
  EXPECT_DOUBLE_EQ(classes.overlap[0].dice, 0.5);
}

TEST(RegionScoring, LesionCountsPerRegion) {
  //            index: 0  1  2  3  4  5  6  7  8  9 10 11
  const LabelVolume ref = line({1, 1, 0, 0, 3, 3, 0, 0, 0, 2, 0, 0});
  const LabelVolume pred = line({1, 0, 0, 0, 3, 1, 0, 1, 0, 0, 0, 3});
  const EvalReport s = settingsFor(brats(), 4);
  const CaseResult r = evaluateCase("lesions", pred, ref, s);
  // WT: ref lesions {0,1}, {4,5}, {9}; pred components {0}, {4,5}, {7}, {11}.
  // Detected {0,1} and {4,5}; {9} missed; FP {7}, {11}.
  EXPECT_EQ(lesionsOf(r, 1), 3);
  LesionDetection wt = lesionDetection(r.lesions, 1, EmptyRule::Nan);
  EXPECT_EQ(wt.tp, 2);
  EXPECT_EQ(wt.fn, 1);
  EXPECT_EQ(wt.fp, 2);
  // TC: ref {4,5}, {9}; pred {4}, {11}: one found, one missed, FP {11}.
  LesionDetection tc = lesionDetection(r.lesions, 2, EmptyRule::Nan);
  EXPECT_EQ(lesionsOf(r, 2), 2);
  EXPECT_EQ(tc.tp, 1);
  EXPECT_EQ(tc.fn, 1);
  EXPECT_EQ(tc.fp, 1);
  // ET: ref {4,5}; pred {4}, {11}: found (lesion Dice 2*1/(2+1)), FP {11}.
  LesionDetection et = lesionDetection(r.lesions, 3, EmptyRule::Nan);
  EXPECT_EQ(et.tp, 1);
  EXPECT_EQ(et.fp, 1);
  for (const Lesion& l : r.lesions.lesions) {
    if (l.classIndex == 3) EXPECT_DOUBLE_EQ(l.dice, 2.0 / 3.0);
  }
  // BraTS-style lesion-wise Dice of ET: 2/3 / (1 lesion + 1 FP).
  EXPECT_DOUBLE_EQ(lesionWiseDice(r.lesions, 3, EmptyRule::Nan), 1.0 / 3.0);
  EvalReport report = s;
  report.cases = {r};
  EXPECT_NO_THROW(validateReport(report));
}

TEST(RegionScoring, IgnoredVoxelsAreLeftOutOfDiceAndLesions) {
  //            index: 0  1  2  3  4  5  6  7  8  9 10 11
  const LabelVolume ref = line({1, 1, 0, 0, 2, 2, 2, 0, 1, 1, 0, 0});
  const LabelVolume pred = line({1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1});
  LabelEncoding e;
  e.ignoreLabel = 2;  // classes 0, 1; value 2 = not annotated
  const CaseResult r = evaluateCase("sparse", pred, ref, settingsFor(e, 2));
  // Annotated voxels only: ref {0,1,8,9}, pred {0,8,9,11}: tp 3, fp 1, fn 1 -> 6/8
  // (pred 4, 5 lie on ignored voxels; counted they would give 6/10).
  ASSERT_EQ(r.overlap.size(), 1u);
  EXPECT_EQ(r.overlap[0].fp, 1);
  EXPECT_DOUBLE_EQ(r.overlap[0].dice, 0.75);
  // Pred components {0}, {4,5} (entirely ignored: no FP), {8,9}, {11} (FP).
  const LesionDetection d = lesionDetection(r.lesions, 1, EmptyRule::Nan);
  EXPECT_EQ(d.tp, 2);
  EXPECT_EQ(d.fn, 0);
  EXPECT_EQ(d.fp, 1);
}

TEST(RegionScoring, ComponentCrossingIgnoredVoxelsStaysOne) {
  // Pred {0..4} runs through the unannotated voxels 2, 3: one false positive, not the two
  // pieces {0,1} and {4} that dropping the ignored voxels first would leave.
  const LabelVolume ref = line({0, 0, 2, 2, 0, 0});
  const LabelVolume pred = line({1, 1, 1, 1, 1, 0});
  LabelEncoding e;
  e.ignoreLabel = 2;
  const CaseResult r = evaluateCase("cross", pred, ref, settingsFor(e, 2));
  EXPECT_EQ(lesionDetection(r.lesions, 1, EmptyRule::Nan).fp, 1);
  EXPECT_EQ(r.overlap[0].fp, 3);
}

TEST(RegionScoring, PredictionMayHoldTheIgnoreValueOnIgnoredVoxels) {
  // A copy of the reference as prediction: perfect on the annotated voxels.
  const LabelVolume ref = line({1, 1, 0, 2, 2, 0, 1});
  LabelEncoding e;
  e.ignoreLabel = 2;
  const CaseResult r = evaluateCase("copy", ref, ref, settingsFor(e, 2));
  EXPECT_DOUBLE_EQ(r.overlap[0].dice, 1.0);
  EXPECT_EQ(lesionDetection(r.lesions, 1, EmptyRule::Nan).fp, 0);
}

TEST(RegionScoring, RegionsWithIgnoreLabel) {
  //            index: 0  1  2  3  4  5  6
  const LabelVolume ref = line({1, 2, 3, 4, 4, 0, 0});
  const LabelVolume pred = line({1, 2, 3, 3, 1, 0, 3});
  const CaseResult r = evaluateCase("both", pred, ref, settingsFor(brats(4), 4));
  // WT annotated: ref {0,1,2}, pred {0,1,2,6} -> 6/7; TC ref {1,2}, pred {1,2,6} -> 4/5;
  // ET ref {2}, pred {2,6} -> 2/3. Voxels 3, 4 count nowhere. (nnunetv2 2.8.1's
  // compute_tp_fp_fn_tn(region_or_label_to_mask(...), ignore_mask=ref == 4) gives the same.)
  EXPECT_DOUBLE_EQ(r.overlap[0].dice, 6.0 / 7.0);
  EXPECT_DOUBLE_EQ(r.overlap[1].dice, 4.0 / 5.0);
  EXPECT_DOUBLE_EQ(r.overlap[2].dice, 2.0 / 3.0);
  // Pred WT component {0..4} matches the lesion; {6} is the one FP in every region.
  for (int c = 1; c <= 3; ++c) EXPECT_EQ(lesionDetection(r.lesions, c, EmptyRule::Nan).fp, 1) << c;
}

TEST(RegionScoring, SurfaceDistancesPerRegion) {
  // WT ref {1..3}, pred {1..4} along x with 2 mm spacing: surfaces = the masks (a line is
  // all surface); pred->ref {0,0,0,2}, ref->pred {0,0,0}: HD95 = max of
  // numpy.percentile([0,0,0,2], 95) = 1.7 and 0; ASSD = 2 / 7.
  LabelVolume ref = line({0, 1, 1, 1, 0, 0});
  LabelVolume pred = line({0, 1, 1, 1, 1, 0});
  ref.geometry.spacing = pred.geometry.spacing = {2.0, 1.0, 1.0};
  EvalReport s = settingsFor(brats(), 4);
  s.surfaceDistances = true;
  s.emptyRule = EmptyRule::Nan;
  const CaseResult r = evaluateCase("dist", pred, ref, s);
  EXPECT_NEAR(r.overlap[0].hd95, 1.7, 1e-12);
  EXPECT_NEAR(r.overlap[0].assd, 2.0 / 7.0, 1e-12);
  EXPECT_TRUE(std::isnan(r.overlap[2].hd95));  // ET empty in both
}

TEST(RegionScoring, ValueInNoRegionIsAnInputErrorNamingTheCase) {
  const LabelVolume ref = line({0, 1, 5});
  const LabelVolume pred = line({0, 1, 1});
  const std::string message = errorOf([&] { evaluateCase("odd", pred, ref, settingsFor(brats(4), 4)); });
  EXPECT_NE(message.find("case 'odd': reference holds label 5, which is in no region"), std::string::npos) << message;
  EXPECT_THROW(evaluateCase("odd", ref, pred, settingsFor(brats(), 4)), InputError);
}

TEST(RegionScoring, ValidateReportWantsRegionsPlusOneClasses) {
  EvalReport s = settingsFor(brats(), 3);
  EXPECT_THROW(validateReport(s), InternalError);
  s.numClasses = 4;
  EXPECT_NO_THROW(validateReport(s));
}

TEST(RegionScoring, ScoredMapsForOverlays) {
  LabelVolume ref = line({0, 1, 2, 3, 4});
  LabelVolume pred = line({3, 3, 3, 3, 3});
  const int value = scoredMaps(pred, ref, settingsFor(brats(4), 4), 2);  // tumour core
  EXPECT_EQ(value, 1);
  EXPECT_EQ(ref.data, (std::vector<uint8_t>{0, 0, 1, 1, 0}));
  EXPECT_EQ(pred.data, (std::vector<uint8_t>{1, 1, 1, 1, 0}));  // ignored voxel dropped
}

}  // namespace
}  // namespace seg
