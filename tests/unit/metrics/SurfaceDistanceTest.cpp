#include "metrics/SurfaceDistance.h"

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
