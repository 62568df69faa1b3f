#include "core/ConnectedComponents.h"
#include "metrics/EvalReport.h"
#include "unit/metrics/MetricsGolden.h"

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
}  // namespace
}  // namespace seg
