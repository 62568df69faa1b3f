// segdata inspect's value statistics on hand-built buffers; expected values by hand.
#include "data/VolumeStats.h"

#include <gtest/gtest.h>

#include <limits>

namespace seg {
namespace {

TEST(VolumeStats, RangeAndMeanOfNonIntegerValues) {
  // (-1.5 + 2 + 4 + 0.5) / 4 = 1.25
  const VolumeStats s = computeVolumeStats({-1.5f, 2.0f, 4.0f, 0.5f}, {});
  EXPECT_TRUE(s.finite);
  EXPECT_EQ(s.nonFinite, 0u);
  EXPECT_EQ(s.min, -1.5);
  EXPECT_EQ(s.max, 4.0);
  EXPECT_DOUBLE_EQ(s.mean, 1.25);
  EXPECT_FALSE(s.integerValued);
  EXPECT_TRUE(s.distinct.empty());
}

TEST(VolumeStats, IntegerValuesListTheDistinctOnesSorted) {
  const VolumeStats s = computeVolumeStats({3, 1, 1, 0, 2, 3}, {});
  EXPECT_TRUE(s.integerValued);
  EXPECT_EQ(s.distinct, (std::vector<double>{0, 1, 2, 3}));
  EXPECT_FALSE(s.distinctTruncated);
  EXPECT_DOUBLE_EQ(s.mean, 10.0 / 6.0);
}

TEST(VolumeStats, NonFiniteIndicesAreLeftOut) {
  // ITK reads NaN/Inf voxels as 0 (indices 0 and 3 here): neither the 0s nor the NaN
  // may reach min, mean or the distinct values. Finite: 5, -2, 7 -> mean 10/3.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const VolumeStats s = computeVolumeStats({0.0f, 5.0f, -2.0f, nan, 7.0f}, {0, 3});
  EXPECT_EQ(s.nonFinite, 2u);
  EXPECT_TRUE(s.finite);
  EXPECT_EQ(s.min, -2.0);
  EXPECT_EQ(s.max, 7.0);
  EXPECT_DOUBLE_EQ(s.mean, 10.0 / 3.0);
  EXPECT_TRUE(s.integerValued);
  EXPECT_EQ(s.distinct, (std::vector<double>{-2, 5, 7}));
}

TEST(VolumeStats, NothingFiniteLeavesTheStatisticsUnset) {
  const VolumeStats s = computeVolumeStats({0.0f, 0.0f}, {0, 1});
  EXPECT_EQ(s.nonFinite, 2u);
  EXPECT_FALSE(s.finite);
  EXPECT_FALSE(s.integerValued);
  EXPECT_TRUE(s.distinct.empty());
  const VolumeStats empty = computeVolumeStats({}, {});
  EXPECT_FALSE(empty.finite);
  EXPECT_EQ(empty.nonFinite, 0u);
}

TEST(VolumeStats, DistinctValuesKeepTheSmallestWhenTruncated) {
  // Values seen largest first: the cap must keep the smallest, not the first seen.
  const VolumeStats s = computeVolumeStats({5, 4, 3, 2, 1, 4}, {}, 3);
  EXPECT_EQ(s.distinct, (std::vector<double>{1, 2, 3}));
  EXPECT_TRUE(s.distinctTruncated);
  // The default cap is 20: 0..24 keeps 0..19.
  std::vector<float> ramp;
  for (int v = 24; v >= 0; --v) ramp.push_back(static_cast<float>(v));
  const VolumeStats r = computeVolumeStats(ramp, {});
  ASSERT_EQ(r.distinct.size(), kMaxDistinctValues);
  EXPECT_EQ(r.distinct.front(), 0);
  EXPECT_EQ(r.distinct.back(), 19);
  EXPECT_TRUE(r.distinctTruncated);
  EXPECT_DOUBLE_EQ(r.mean, 12.0);  // mean of 0..24
  const VolumeStats exact = computeVolumeStats({2, 1, 0}, {}, 3);
  EXPECT_FALSE(exact.distinctTruncated);
}

}  // namespace
}  // namespace seg
