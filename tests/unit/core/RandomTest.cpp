#include <gtest/gtest.h>

#include <cmath>

#include "core/GridDifference.h"
#include "core/Image.h"
#include "core/Random.h"

namespace seg {
namespace {

TEST(RandomTest, SplitMix64MatchesPublishedSequence) {
  // splitmix64 seeded with 1234567, as Vigna's splitmix64.c; values from an independent
  // Python implementation of the same recurrence.
  uint64_t state = 1234567;
  EXPECT_EQ(splitmix64(state), 6457827717110365317ull);
  EXPECT_EQ(splitmix64(state), 3203168211198807973ull);
}

TEST(RandomTest, StreamsAreReproducibleAndDistinct) {
  Rng a(42, 7), b(42, 7), c(42, 8);
  for (int i = 0; i < 10; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
  }
}

TEST(RandomTest, UniformStaysInRange) {
  Rng r(1);
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    ASSERT_LT(r.below(7), 7u);
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(ImageGeometryTest, SameGridToleratesRoundOffOnly) {
  ImageGeometry a;
  a.size = {4, 5, 6};
  a.spacing = {0.8, 0.8, 2.5};
  ImageGeometry b = a;
  b.spacing[2] += 1e-7;
  EXPECT_TRUE(a.sameGrid(b));
  b.spacing[2] = 2.6;
  EXPECT_FALSE(a.sameGrid(b));
  b = a;
  b.size[0] = 5;
  EXPECT_FALSE(a.sameGrid(b));
  b = a;
  b.direction[0] = -1;
  EXPECT_FALSE(a.sameGrid(b));
  EXPECT_EQ(a.describeSize(), "(4,5,6)");
  EXPECT_DOUBLE_EQ(a.voxelVolume(), 0.8 * 0.8 * 2.5);
}

TEST(ImageGeometryTest, DescribeDifferenceNamesWhatDiffers) {
  ImageGeometry a;
  a.size = {4, 5, 6};
  ImageGeometry b = a;
  EXPECT_EQ(describeGridDifference(a, b), "");
  b.size[2] = 7;
  EXPECT_EQ(describeGridDifference(a, b), "size (4,5,6) vs (4,5,7)");
  b = a;
  b.spacing = {2, 1, 1};
  b.origin[1] = 25;
  EXPECT_EQ(describeGridDifference(b, a), "spacing (2,1,1) vs (1,1,1), origin (0,25,0) vs (0,0,0)");
  b = a;
  b.direction = {0, 1, 0, 1, 0, 0, 0, 0, 1};
  EXPECT_EQ(describeGridDifference(b, a), "direction (0,1,0,1,0,0,0,0,1) vs (1,0,0,0,1,0,0,0,1)");
  b = a;
  b.spacing[0] = std::nan("");  // NaN never agrees (sameGrid used to let it through)
  EXPECT_FALSE(a.sameGrid(b));
}

}  // namespace
}  // namespace seg
