#include "metrics/SegMetrics.h"
#include "metrics/EvalReport.h"
#include "metrics/SurfaceDistance.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <random>
#include <tuple>

#include "core/Error.h"
#include "unit/metrics/MetricsGolden.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::at;
using test::makeLabels;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// Sets every voxel of the box [x0,x1] x [y0,y1] x [z0,z1] (inclusive) to `value`.
void fill(LabelVolume& v, int64_t x0, int64_t x1, int64_t y0, int64_t y1, int64_t z0, int64_t z1,
          uint8_t value) {
  for (int64_t z = z0; z <= z1; ++z)
    for (int64_t y = y0; y <= y1; ++y)
      for (int64_t x = x0; x <= x1; ++x) v.data[at(v.geometry, x, y, z)] = value;
}

void expectSameDouble(double expected, double actual, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": expected NaN, got " << actual;
  } else {
    EXPECT_NEAR(expected, actual, 1e-9) << what;
  }
}

// The worked example shared by the lesion tests. Grid 10x6x3, spacing (1,1,2) -> 2 mm^3.
//   class 1 reference: A = x1..3,y1,z0 (3 voxels, 6 mm^3, bin 0);
//                      B = x5..8,y1..3,z0..1 (24 voxels, 48 mm^3, bin 1)
//   class 1 prediction: P1 = x6..9,y1..3,z0..1 (24 voxels; 18 inside B), FP voxel (0,5,2)
//     -> A missed (Dice 0); B Dice = 2*18/(24+24) = 0.75; 1 false positive.
//     voxel-wise: tp 18, fp 6+1 = 7, fn 3+6 = 9 -> Dice 36/52, IoU 18/34.
//   class 2 reference: C = x0..3,y4,z1 (4 voxels, 8 mm^3); D = (9,5,2) (1 voxel, 2 mm^3)
//   class 2 prediction: (0,4,1) and {(2,4,1),(2,5,1)} (two components, both touch C), (9,5,2)
//     -> C Dice = 2*2/(4+3) = 4/7; D Dice = 1; no false positive.
//     voxel-wise: tp 3, fp 1, fn 2 -> Dice 6/9, IoU 3/6.
struct WorkedExample {
  LabelVolume ref = makeLabels(10, 6, 3);
  LabelVolume pred = makeLabels(10, 6, 3);
  WorkedExample() {
    for (auto* v : {&ref, &pred}) v->geometry.spacing = {1.0, 1.0, 2.0};
    fill(ref, 1, 3, 1, 1, 0, 0, 1);
    fill(ref, 5, 8, 1, 3, 0, 1, 1);
    fill(pred, 6, 9, 1, 3, 0, 1, 1);
    fill(pred, 0, 0, 5, 5, 2, 2, 1);
    fill(ref, 0, 3, 4, 4, 1, 1, 2);
    fill(ref, 9, 9, 5, 5, 2, 2, 2);
    fill(pred, 0, 0, 4, 4, 1, 1, 2);
    fill(pred, 2, 2, 4, 5, 1, 1, 2);
    fill(pred, 9, 9, 5, 5, 2, 2, 2);
  }
};

// ---------------------------------------------------------------------------------------
// Empty rule and voxel overlap

TEST(SegMetricsEmptyRule, ParsesAndPrints) {
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

class SegMetricsOverlap : public ::testing::TestWithParam<OverlapCase> {};

TEST_P(SegMetricsOverlap, MatchesHandComputedValues) {
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
    Table, SegMetricsOverlap,
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

TEST(SegMetricsOverlapClasses, WorkedExamplePerClass) {
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

TEST(SegMetricsOverlapClasses, MislabelledVoxelCountsForBothClasses) {
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

TEST(SegMetricsErrors, GridSizeMismatchNamesBothSizes) {
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

TEST(SegMetricsErrors, SpacingMismatchSaysWhichAttribute) {
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

TEST(SegMetricsErrors, LabelOutOfRangeNamesTheValue) {
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

TEST(SegMetricsErrors, BufferSizeDisagreesWithGeometry) {
  LabelVolume pred = makeLabels(3, 1, 1), ref = makeLabels(3, 1, 1);
  ref.data.resize(2);
  EXPECT_THROW(overlapPerClass(pred, ref, 2, EmptyRule::Nan), InputError);
}

// ---------------------------------------------------------------------------------------
// Connected components

struct ConnectivityCase {
  const char* name;
  std::array<int64_t, 3> second;  // first voxel at (0,0,0)
  int count6, count18, count26;
};

class ComponentConnectivity : public ::testing::TestWithParam<ConnectivityCase> {};

TEST_P(ComponentConnectivity, TwoVoxelsJoinOnlyUnderTheRightNeighbourhood) {
  const ConnectivityCase& c = GetParam();
  LabelVolume v = makeLabels(3, 3, 3);
  v.data[at(v.geometry, 0, 0, 0)] = 1;
  v.data[at(v.geometry, c.second[0], c.second[1], c.second[2])] = 1;
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 1, 6).count, c.count6);
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 1, 18).count, c.count18);
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 1, 26).count, c.count26);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ComponentConnectivity,
    ::testing::Values(ConnectivityCase{"face", {1, 0, 0}, 1, 1, 1},
                      ConnectivityCase{"edge_xy", {1, 1, 0}, 2, 1, 1},
                      ConnectivityCase{"edge_yz", {0, 1, 1}, 2, 1, 1},
                      ConnectivityCase{"corner", {1, 1, 1}, 2, 2, 1},
                      ConnectivityCase{"apart", {2, 0, 0}, 2, 2, 2}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ComponentLabelling, IdsFollowRasterOrderOfFirstVoxelAfterMerges) {
  // One slice (x right, y down):   . . . A . B
  //                                A A A A . B
  // The A row starts a fresh provisional label that is merged into the earlier (3,0)
  // label, so A must still be id 1 and B id 2.
  LabelVolume v = makeLabels(6, 2, 1);
  for (int64_t x : {3, 5}) v.data[at(v.geometry, x, 0, 0)] = 1;
  for (int64_t x : {0, 1, 2, 3, 5}) v.data[at(v.geometry, x, 1, 0)] = 1;
  const Components cc = connectedComponents(v.data, v.geometry.size, 1, 6);
  EXPECT_EQ(cc.count, 2);
  const std::vector<int32_t> expected{0, 0, 0, 1, 0, 2, 1, 1, 1, 1, 0, 2};
  EXPECT_EQ(cc.ids, expected);
}

TEST(ComponentLabelling, LabelsTheRequestedClassOnly) {
  LabelVolume v = makeLabels(3, 1, 1);
  v.data = {2, 1, 2};
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 2, 26).count, 2);
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 1, 26).count, 1);
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 3, 26).count, 0);
}

TEST(ComponentLabelling, RejectsBadConnectivityAndSize) {
  LabelVolume v = makeLabels(3, 1, 1);
  try {
    connectedComponents(v.data, v.geometry.size, 1, 8);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "connectedComponents: connectivity must be 6, 18 or 26, got 8");
  }
  EXPECT_THROW(connectedComponents(v.data, {4, 1, 1}, 1, 6), InputError);
}

// Breadth-first flood fill over the full neighbourhood, visiting seeds in raster order:
// a second, independent way to the same ids.
std::vector<int32_t> floodFillIds(const std::vector<uint8_t>& labels, std::array<int64_t, 3> size,
                                  int rank) {
  const int64_t nx = size[0], ny = size[1], nz = size[2];
  std::vector<int32_t> ids(labels.size(), 0);
  int32_t next = 0;
  for (int64_t seed = 0; seed < static_cast<int64_t>(labels.size()); ++seed) {
    if (labels[seed] != 1 || ids[seed] != 0) continue;
    ids[seed] = ++next;
    std::deque<int64_t> queue{seed};
    while (!queue.empty()) {
      const int64_t i = queue.front();
      queue.pop_front();
      const int64_t x = i % nx, y = (i / nx) % ny, z = i / (nx * ny);
      for (int dz = -1; dz <= 1; ++dz)
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) {
            if (std::abs(dx) + std::abs(dy) + std::abs(dz) > rank) continue;
            const int64_t X = x + dx, Y = y + dy, Z = z + dz;
            if (X < 0 || Y < 0 || Z < 0 || X >= nx || Y >= ny || Z >= nz) continue;
            const int64_t j = (Z * ny + Y) * nx + X;
            if (labels[j] == 1 && ids[j] == 0) {
              ids[j] = next;
              queue.push_back(j);
            }
          }
    }
  }
  return ids;
}

TEST(ComponentLabelling, AgreesWithFloodFillOnRandomVolumes) {
  std::mt19937 rng(7);
  for (double density : {0.15, 0.3, 0.5}) {
    std::bernoulli_distribution on(density);
    LabelVolume v = makeLabels(17, 13, 11);
    for (auto& value : v.data) value = on(rng) ? 1 : 0;
    for (auto [connectivity, rank] : {std::pair{6, 1}, {18, 2}, {26, 3}}) {
      const Components cc = connectedComponents(v.data, v.geometry.size, 1, connectivity);
      const auto expected = floodFillIds(v.data, v.geometry.size, rank);
      EXPECT_EQ(cc.ids, expected) << "density " << density << ", connectivity " << connectivity;
      EXPECT_EQ(cc.count, *std::max_element(expected.begin(), expected.end()));
    }
  }
}

TEST(ComponentLabelling, LargeVolumeIsFast) {
  // 256^3 with ~30% random foreground: the worst case for union-find bookkeeping.
  LabelVolume v = makeLabels(256, 256, 256);
  std::mt19937 rng(3);
  for (auto& value : v.data) value = (rng() % 10) < 3 ? 1 : 0;
  const auto start = std::chrono::steady_clock::now();
  const Components cc = connectedComponents(v.data, v.geometry.size, 1, 26);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(cc.count, 0);
  // Generous bound (shared CI cores, unoptimised builds); typical Release time is ~0.2 s.
  EXPECT_LT(seconds, 5.0);
  RecordProperty("seconds", std::to_string(seconds));
}

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

TEST(LesionSizeBins, AggregatesOverCasesPerClassAndBin) {
  // Bins {0, 10, 100}. Class 1: bin 0 holds Dice 0.5 (detected) and 0 (missed) -> sensitivity
  // 0.5, mean 0.25; bin 2 holds 0.9. Class 2 has only a bin -1 lesion, which no row counts.
  auto lesion = [](int c, int bin, bool detected, double dice) {
    Lesion l;
    l.classIndex = c;
    l.bin = bin;
    l.detected = detected;
    l.dice = dice;
    return l;
  };
  CaseLesions a, b;
  a.lesions = {lesion(1, 0, true, 0.5), lesion(1, 2, true, 0.9)};
  b.lesions = {lesion(1, 0, false, 0.0), lesion(2, -1, true, 1.0)};
  const auto rows = aggregateBins({a, b}, 3, {0.0, 10.0, 100.0});
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].classIndex, 1);
  EXPECT_EQ(rows[0].lesions, 2);
  EXPECT_EQ(rows[0].detected, 1);
  EXPECT_DOUBLE_EQ(rows[0].sensitivity, 0.5);
  EXPECT_DOUBLE_EQ(rows[0].meanDice, 0.25);
  EXPECT_DOUBLE_EQ(rows[0].highMm3, 10.0);
  EXPECT_EQ(rows[1].lesions, 0);
  EXPECT_TRUE(std::isnan(rows[1].sensitivity));
  EXPECT_TRUE(std::isnan(rows[1].meanDice));
  EXPECT_DOUBLE_EQ(rows[2].meanDice, 0.9);
  EXPECT_TRUE(std::isinf(rows[2].highMm3));
  EXPECT_EQ(rows[3].classIndex, 2);
  for (size_t k = 3; k < 6; ++k) EXPECT_EQ(rows[k].lesions, 0);
  b.lesions.push_back(lesion(1, 3, true, 1.0));
  EXPECT_THROW(aggregateBins({a, b}, 3, {0.0, 10.0, 100.0}), InputError);
}

// ---------------------------------------------------------------------------------------
// Golden values from scripts/reference/metrics_reference.py (numpy + scipy.ndimage.label)

LabelVolume decodeGolden(const std::vector<uint32_t>& rle) {
  namespace g = test::golden;
  LabelVolume v = makeLabels(g::kSize[0], g::kSize[1], g::kSize[2]);
  v.geometry.spacing = {g::kSpacing[0], g::kSpacing[1], g::kSpacing[2]};
  v.data.clear();
  for (size_t i = 0; i + 1 < rle.size(); i += 2) v.data.insert(v.data.end(), rle[i + 1], rle[i]);
  EXPECT_EQ(static_cast<int64_t>(v.data.size()), v.geometry.numVoxels());
  return v;
}

TEST(GoldenMetrics, OverlapMatchesNumpy) {
  namespace g = test::golden;
  for (const g::Case& gc : g::kCases) {
    SCOPED_TRACE(gc.name);
    const LabelVolume ref = decodeGolden(gc.refRle), pred = decodeGolden(gc.predRle);
    const auto rows = overlapPerClass(pred, ref, g::kNumClasses, EmptyRule::Nan);
    ASSERT_EQ(rows.size(), gc.overlap.size());
    for (size_t k = 0; k < rows.size(); ++k) {
      EXPECT_EQ(rows[k].classIndex, gc.overlap[k].classIndex);
      EXPECT_EQ(rows[k].tp, gc.overlap[k].tp);
      EXPECT_EQ(rows[k].fp, gc.overlap[k].fp);
      EXPECT_EQ(rows[k].fn, gc.overlap[k].fn);
      EXPECT_EQ(rows[k].refVoxels, gc.overlap[k].refVoxels);
      EXPECT_EQ(rows[k].predVoxels, gc.overlap[k].predVoxels);
      expectSameDouble(gc.overlap[k].dice, rows[k].dice, "dice");
      expectSameDouble(gc.overlap[k].iou, rows[k].iou, "iou");
    }
  }
}

TEST(GoldenMetrics, ComponentCountsMatchScipy) {
  namespace g = test::golden;
  for (const g::Case& gc : g::kCases) {
    const LabelVolume ref = decodeGolden(gc.refRle), pred = decodeGolden(gc.predRle);
    for (const g::Matching& m : gc.matching) {
      for (int c = 1; c < g::kNumClasses; ++c) {
        SCOPED_TRACE(std::string(gc.name) + " connectivity " + std::to_string(m.connectivity) +
                     " class " + std::to_string(c));
        EXPECT_EQ(connectedComponents(ref.data, ref.geometry.size, c, m.connectivity).count,
                  m.refComponents[c]);
        EXPECT_EQ(connectedComponents(pred.data, pred.geometry.size, c, m.connectivity).count,
                  m.predComponents[c]);
      }
    }
  }
}

TEST(GoldenMetrics, LesionsMatchReference) {
  namespace g = test::golden;
  for (const g::Case& gc : g::kCases) {
    const LabelVolume ref = decodeGolden(gc.refRle), pred = decodeGolden(gc.predRle);
    for (const g::Matching& m : gc.matching) {
      SCOPED_TRACE(std::string(gc.name) + " connectivity " + std::to_string(m.connectivity));
      LesionMatchOptions options;
      options.connectivity = m.connectivity;
      options.sizeBinsMm3 = g::kSizeBinsMm3;
      const CaseLesions result = matchLesions(pred, ref, g::kNumClasses, options);
      EXPECT_EQ(result.falsePositives, m.falsePositives);
      ASSERT_EQ(result.lesions.size(), m.lesions.size());
      for (size_t i = 0; i < m.lesions.size(); ++i) {
        const Lesion& l = result.lesions[i];
        const g::LesionRow& e = m.lesions[i];
        SCOPED_TRACE("lesion " + std::to_string(i));
        EXPECT_EQ(l.classIndex, e.classIndex);
        EXPECT_EQ(l.id, e.id);
        EXPECT_EQ(l.firstVoxel, e.firstVoxel);
        EXPECT_EQ(l.voxels, e.voxels);
        EXPECT_NEAR(l.volumeMm3, e.volumeMm3, 1e-9);
        EXPECT_EQ(l.bin, e.bin);
        EXPECT_EQ(l.detected, e.detected);
        EXPECT_NEAR(l.dice, e.dice, 1e-9);
      }
    }
  }
}

TEST(GoldenMetrics, SizeBinsMatchReference) {
  namespace g = test::golden;
  for (int connectivity : {6, 18, 26}) {
    SCOPED_TRACE("connectivity " + std::to_string(connectivity));
    LesionMatchOptions options;
    options.connectivity = connectivity;
    options.sizeBinsMm3 = g::kSizeBinsMm3;
    std::vector<CaseLesions> cases;
    for (const g::Case& gc : g::kCases) {
      cases.push_back(matchLesions(decodeGolden(gc.predRle), decodeGolden(gc.refRle),
                                   g::kNumClasses, options));
    }
    const auto rows = aggregateBins(cases, g::kNumClasses, g::kSizeBinsMm3);
    std::vector<g::BinRow> expected;
    for (const g::BinRow& b : g::kBins) {
      if (b.connectivity == connectivity) expected.push_back(b);
    }
    ASSERT_EQ(rows.size(), expected.size());
    for (size_t k = 0; k < rows.size(); ++k) {
      EXPECT_EQ(rows[k].classIndex, expected[k].classIndex);
      EXPECT_DOUBLE_EQ(rows[k].lowMm3, expected[k].lowMm3);
      EXPECT_EQ(rows[k].highMm3, expected[k].highMm3);
      EXPECT_EQ(rows[k].lesions, expected[k].lesions);
      EXPECT_EQ(rows[k].detected, expected[k].detected);
      expectSameDouble(expected[k].sensitivity, rows[k].sensitivity, "sensitivity");
      expectSameDouble(expected[k].meanDice, rows[k].meanDice, "mean dice");
    }
  }
}

TEST(GoldenMetrics, SurfaceDistancesMatchScipy) {
  namespace g = test::golden;
  for (const g::Case& gc : g::kCases) {
    SCOPED_TRACE(gc.name);
    const LabelVolume ref = decodeGolden(gc.refRle), pred = decodeGolden(gc.predRle);
    const auto rows = surfaceDistancePerClass(pred, ref, g::kNumClasses, EmptyRule::Nan);
    ASSERT_EQ(rows.size(), gc.overlap.size());
    for (size_t k = 0; k < rows.size(); ++k) {
      SCOPED_TRACE("class " + std::to_string(k + 1));
      for (auto [expected, actual, what] :
           {std::tuple{gc.overlap[k].hd95, rows[k].hd95, "hd95"},
            std::tuple{gc.overlap[k].assdMm, rows[k].assd, "assd"}}) {
        if (std::isinf(expected)) {
          EXPECT_TRUE(std::isinf(actual)) << what;
        } else if (std::isnan(expected)) {
          EXPECT_TRUE(std::isnan(actual)) << what;
        } else {
          EXPECT_NEAR(expected, actual, 1e-9) << what;
        }
      }
    }
  }
}

void expectMatched(const std::vector<test::golden::MatchedLesion>& expected,
                   const CaseLesions& result, bool checkIou) {
  ASSERT_EQ(result.lesions.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const Lesion& l = result.lesions[i];
    const auto& e = expected[i];
    SCOPED_TRACE("lesion " + std::to_string(i));
    EXPECT_EQ(l.classIndex, e.classIndex);
    EXPECT_EQ(l.id, e.id);
    EXPECT_EQ(l.voxels, e.voxels);
    EXPECT_EQ(l.matchedComponents, e.matched);
    EXPECT_EQ(l.detected, e.detected);
    EXPECT_EQ(l.counted, e.counted);
    EXPECT_NEAR(l.dice, e.dice, 1e-9);
    if (checkIou) {
      EXPECT_NEAR(l.iou, e.iou, 1e-9);
    }
  }
}

TEST(GoldenMetrics, IouMatchingMatchesReference) {
  namespace g = test::golden;
  for (const g::Case& gc : g::kCases) {
    const LabelVolume ref = decodeGolden(gc.refRle), pred = decodeGolden(gc.predRle);
    for (const g::IouMatching& m : gc.iou) {
      SCOPED_TRACE(std::string(gc.name) + " iou " + std::to_string(m.threshold));
      LesionMatchOptions options;
      options.sizeBinsMm3 = g::kSizeBinsMm3;
      parseMatchRule("iou:" + std::to_string(m.threshold), options);
      const CaseLesions result = matchLesions(pred, ref, g::kNumClasses, options);
      EXPECT_EQ(result.falsePositives, m.falsePositives);
      expectMatched(m.lesions, result, /*checkIou=*/true);
    }
  }
}

TEST(GoldenMetrics, BratsPresetMatchesReference) {
  namespace g = test::golden;
  LesionMatchOptions options = bratsPreset();
  ASSERT_EQ(options.referenceDilation, g::kBratsDilation);
  ASSERT_EQ(options.minLesionVolumeMm3, g::kBratsMinVolumeMm3);
  options.sizeBinsMm3 = g::kSizeBinsMm3;
  for (const g::Case& gc : g::kCases) {
    SCOPED_TRACE(gc.name);
    const LabelVolume ref = decodeGolden(gc.refRle), pred = decodeGolden(gc.predRle);
    const CaseLesions result = matchLesions(pred, ref, g::kNumClasses, options);
    EXPECT_EQ(result.falsePositives, gc.brats.falsePositives);
    expectMatched(gc.brats.lesions, result, /*checkIou=*/false);
    for (int c = 1; c < g::kNumClasses; ++c) {
      expectSameDouble(gc.brats.lesionWiseDice[c], lesionWiseDice(result, c, EmptyRule::Nan),
                       "lesion-wise Dice class " + std::to_string(c));
    }
  }
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

// ---------------------------------------------------------------------------------------
// Surface distances, hand-computed

TEST(SurfaceDistances, PercentileIsNumpyLinear) {
  std::vector<double> v{4, 1, 3, 2};
  // numpy.percentile([1,2,3,4], 95) = 3 + 0.85 * 1
  EXPECT_NEAR(percentileLinear(v, 95.0), 3.85, 1e-12);
  std::vector<double> one{2.0};
  EXPECT_EQ(percentileLinear(one, 95.0), 2.0);
  std::vector<double> none;
  EXPECT_TRUE(std::isnan(percentileLinear(none, 95.0)));
}

TEST(SurfaceDistances, SurfaceUsesFaceNeighboursAndTheGridBorder) {
  // A 3x3x3 cube in a 5x5x5 grid: only its centre is interior.
  LabelVolume v = makeLabels(5, 5, 5);
  fill(v, 1, 3, 1, 3, 1, 3, 1);
  std::vector<uint8_t> mask(v.data.begin(), v.data.end());
  const auto s = maskSurface(mask, v.geometry.size);
  EXPECT_EQ(std::count(s.begin(), s.end(), 1), 26);
  EXPECT_EQ(s[at(v.geometry, 2, 2, 2)], 0);
  // Filling the grid: every voxel touches the border except the inner 3x3x3.
  std::vector<uint8_t> full(125, 1);
  const auto f = maskSurface(full, {5, 5, 5});
  EXPECT_EQ(std::count(f.begin(), f.end(), 1), 125 - 27);
}

TEST(SurfaceDistances, ShiftedSlabUsesSpacing) {
  // Single-voxel-thick slabs at x = 1 and x = 3, spacing 0.5 mm in x: every surface voxel
  // is 1 mm from the other surface -> HD95 = ASSD = 1.
  LabelVolume ref = makeLabels(6, 4, 4), pred = makeLabels(6, 4, 4);
  ref.geometry.spacing = pred.geometry.spacing = {0.5, 2.0, 3.0};
  fill(ref, 1, 1, 0, 3, 0, 3, 1);
  fill(pred, 3, 3, 0, 3, 0, 3, 1);
  const auto d = surfaceDistancePerClass(pred, ref, 2, EmptyRule::Nan);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NEAR(d[0].hd95, 1.0, 1e-9);
  EXPECT_NEAR(d[0].assd, 1.0, 1e-9);
  EXPECT_EQ(d[0].refSurfaceVoxels, 16);
}

TEST(SurfaceDistances, EmptyConventions) {
  LabelVolume a = makeLabels(3, 3, 3), b = makeLabels(3, 3, 3);
  auto one = surfaceDistancePerClass(a, b, 2, EmptyRule::One)[0];
  EXPECT_EQ(one.hd95, 0.0);
  EXPECT_EQ(one.assd, 0.0);
  EXPECT_TRUE(std::isinf(surfaceDistancePerClass(a, b, 2, EmptyRule::Zero)[0].hd95));
  EXPECT_TRUE(std::isnan(surfaceDistancePerClass(a, b, 2, EmptyRule::Nan)[0].hd95));
  a.data[0] = 1;  // only the prediction has the class: inf whatever the rule
  EXPECT_TRUE(std::isinf(surfaceDistancePerClass(a, b, 2, EmptyRule::One)[0].hd95));
  EXPECT_TRUE(std::isinf(surfaceDistancePerClass(b, a, 2, EmptyRule::Nan)[0].assd));
}

}  // namespace
}  // namespace seg
