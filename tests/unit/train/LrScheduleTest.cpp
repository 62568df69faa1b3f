#include <gtest/gtest.h>

#include <cmath>

#include "core/Error.h"
#include "train/LrSchedule.h"

namespace seg {
namespace {

TEST(LrScheduleTest, PolyMatchesNnUNet) {
  LrScheduleOptions o;
  o.baseLr = 0.01;
  o.totalIterations = 1000;
  EXPECT_DOUBLE_EQ(learningRateAt(o, 0), 0.01);
  EXPECT_NEAR(learningRateAt(o, 500), 0.01 * std::pow(0.5, 0.9), 1e-15);
  EXPECT_DOUBLE_EQ(learningRateAt(o, 1000), 0.0);
}

TEST(LrScheduleTest, CosineRunsFromBaseToFloor) {
  LrScheduleOptions o;
  o.name = "cosine";
  o.baseLr = 1e-3;
  o.minLr = 1e-5;
  o.totalIterations = 100;
  EXPECT_DOUBLE_EQ(learningRateAt(o, 0), 1e-3);
  EXPECT_NEAR(learningRateAt(o, 50), 1e-5 + (1e-3 - 1e-5) * 0.5, 1e-15);
  EXPECT_NEAR(learningRateAt(o, 100), 1e-5, 1e-15);
}

TEST(LrScheduleTest, WarmupRisesLinearly) {
  LrScheduleOptions o;
  o.name = "constant";
  o.baseLr = 0.1;
  o.warmupIterations = 10;
  o.totalIterations = 100;
  EXPECT_NEAR(learningRateAt(o, 0), 0.01, 1e-15);
  EXPECT_NEAR(learningRateAt(o, 4), 0.05, 1e-15);
  EXPECT_DOUBLE_EQ(learningRateAt(o, 10), 0.1);
}

TEST(LrScheduleTest, UnknownScheduleIsAnInputError) {
  LrScheduleOptions o;
  o.name = "step";
  EXPECT_THROW(learningRateAt(o, 0), InputError);
}

}  // namespace
}  // namespace seg
