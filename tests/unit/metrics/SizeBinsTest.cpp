#include "metrics/SizeBins.h"

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
}  // namespace
}  // namespace seg
