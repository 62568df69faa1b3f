#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/Error.h"
#include "support/TestUtil.h"
#include "train/FullVolumeValidator.h"

namespace seg {
namespace {

// A 16^3 case whose image holds the "prediction" (0/1) and whose label is the truth; the
// test network turns the image into logits (background 1 - x, lesion x), so every
// prediction is chosen by the test and the scores follow by hand.
LoadedCase makeCase(const std::string& id) {
  LoadedCase c;
  c.id = id;
  c.label = test::makeLabels(16, 16, 16);
  c.image.geometry = c.label.geometry;
  c.image.channels = 1;
  c.image.data.assign(16 * 16 * 16, 0.0f);
  return c;
}

void cube(LoadedCase& c, bool inLabel, bool inImage, int x0, int y0, int z0, int edge) {
  for (int z = z0; z < z0 + edge; ++z)
    for (int y = y0; y < y0 + edge; ++y)
      for (int x = x0; x < x0 + edge; ++x) {
        const auto i = test::at(c.label.geometry, x, y, z);
        if (inLabel) c.label.data[i] = 1;
        if (inImage) c.image.data[i] = 1.0f;
      }
}

torch::Tensor imageToLogits(const torch::Tensor& x) { return torch::cat({1 - x, x}, 1) * 10; }

FullVolumeValidationOptions options() {
  FullVolumeValidationOptions o;
  o.window.patchZYX = {8, 8, 8};
  o.window.overlap = 0.5;
  o.numClasses = 2;
  return o;
}

TEST(FullVolumeValidatorTest, ScoresMatchHandCounts) {
  auto a = makeCase("a");
  cube(a, true, false, 2, 2, 2, 2);     // 8-voxel lesion, missed
  cube(a, true, true, 10, 10, 10, 3);   // 27-voxel lesion, found exactly
  cube(a, false, true, 2, 10, 2, 2);    // 8-voxel false positive
  auto b = makeCase("b");
  cube(b, true, true, 5, 5, 5, 4);      // 64-voxel lesion, found exactly
  auto cases = std::make_shared<const std::vector<LoadedCase>>(std::vector<LoadedCase>{a, b});
  FullVolumeValidator validator(cases, options());
  const FullVolumeScores s = validator.evaluate(imageToLogits);
  ASSERT_EQ(s.dice.size(), 1u);
  // Case a: 2*27 / (2*27 + 8 FP + 8 FN) = 54/70; case b: 1.
  EXPECT_NEAR(s.dice[0], (54.0 / 70.0 + 1.0) / 2, 1e-9);
  EXPECT_NEAR(s.lesionSensitivity[0], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(s.lesionDice[0], 2.0 / 3.0, 1e-12);  // (0 + 1 + 1) / 3
  EXPECT_NEAR(s.fpPerCase[0], 0.5, 1e-12);          // one FP over two cases
  EXPECT_NEAR(s.lesionF1[0], 4.0 / 6.0, 1e-12);     // TP 2, FN 1, FP 1: 2*2 / (2*2 + 1 + 1)
  EXPECT_EQ(validator.columnNames(), (std::vector<std::string>{"vol_dice_1", "vol_lesion_sensitivity_1",
                                                               "vol_lesion_dice_1", "vol_fp_per_case_1",
                                                               "vol_lesion_f1_1"}));
  const auto values = FullVolumeValidator::columnValues(s);
  ASSERT_EQ(values.size(), 5u);
  EXPECT_DOUBLE_EQ(values[3], 0.5);
  EXPECT_NEAR(values[4], 4.0 / 6.0, 1e-12);
}

// The lesion F1 pools the counts over the cases before the ratio (segeval's pooled
// detection), which differs from the mean of per-case F1s.
TEST(FullVolumeValidatorTest, LesionF1PoolsCountsOverCases) {
  auto a = makeCase("a");
  cube(a, true, true, 2, 2, 2, 3);     // detected
  cube(a, false, true, 10, 2, 2, 2);   // false positive
  cube(a, false, true, 2, 10, 10, 2);  // false positive
  auto b = makeCase("b");
  cube(b, true, false, 8, 8, 8, 3);    // missed
  auto cases = std::make_shared<const std::vector<LoadedCase>>(std::vector<LoadedCase>{a, b});
  const FullVolumeScores s = FullVolumeValidator(cases, options()).evaluate(imageToLogits);
  // Pooled TP 1, FN 1, FP 2: 2 / (2 + 1 + 2) = 0.4 (per case: a 2/4, b 0/1, mean 0.25);
  // sensitivity 1/2.
  EXPECT_NEAR(s.lesionF1[0], 0.4, 1e-12);
  EXPECT_NEAR(s.lesionSensitivity[0], 0.5, 1e-12);
  EXPECT_NEAR(s.fpPerCase[0], 1.0, 1e-12);
}

// No reference and no predicted lesions: the F1 follows the empty rule (NaN by default,
// 1 with empty_rule one), as in segeval.
TEST(FullVolumeValidatorTest, LesionF1WithoutLesionsFollowsTheEmptyRule) {
  auto cases = std::make_shared<const std::vector<LoadedCase>>(std::vector<LoadedCase>{makeCase("a")});
  EXPECT_TRUE(std::isnan(FullVolumeValidator(cases, options()).evaluate(imageToLogits).lesionF1[0]));
  auto o = options();
  o.emptyRule = EmptyRule::One;
  EXPECT_DOUBLE_EQ(FullVolumeValidator(cases, o).evaluate(imageToLogits).lesionF1[0], 1.0);
}

TEST(FullVolumeValidatorTest, EmptyPredictionScoresZero) {
  auto a = makeCase("a");
  cube(a, true, false, 4, 4, 4, 3);
  FullVolumeValidator validator(std::make_shared<const std::vector<LoadedCase>>(std::vector<LoadedCase>{a}), options());
  const auto s = validator.evaluate(imageToLogits);
  EXPECT_EQ(s.dice[0], 0.0);
  EXPECT_EQ(s.lesionSensitivity[0], 0.0);
  EXPECT_EQ(s.fpPerCase[0], 0.0);
}

TEST(FullVolumeValidatorTest, RejectsUnlabelledOrMissingCases) {
  auto a = makeCase("case_007");
  a.label.data.clear();
  EXPECT_EQ(test::errorOf([&] {
              FullVolumeValidator(std::make_shared<const std::vector<LoadedCase>>(std::vector<LoadedCase>{a}), options());
            }),
            "full-volume validation: case 'case_007' has no label");
  EXPECT_EQ(test::errorOf([&] {
              FullVolumeValidator(std::make_shared<const std::vector<LoadedCase>>(), options());
            }),
            "train.full_val_every: there are no validation cases to evaluate");
}

}  // namespace
}  // namespace seg
