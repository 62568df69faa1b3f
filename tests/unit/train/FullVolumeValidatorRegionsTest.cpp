// Full-volume validation with regions and an ignore label scores as segeval does: the
// test network's logits are its input channels (one per region), so every region mask
// of the prediction is chosen by the test.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/TestUtil.h"
#include "train/FullVolumeValidator.h"

namespace seg {
namespace {

void cube(LabelVolume& l, uint8_t value, int x0, int y0, int z0, int edge) {
  for (int z = z0; z < z0 + edge; ++z)
    for (int y = y0; y < y0 + edge; ++y)
      for (int x = x0; x < x0 + edge; ++x) l.data[test::at(l.geometry, x, y, z)] = value;
}

TEST(FullVolumeValidatorRegionsTest, RegionsAndIgnoredSlab) {
  LoadedCase c;
  c.id = "brats";
  c.label = test::makeLabels(16, 16, 16);
  cube(c.label, 1, 2, 2, 2, 6);  // edema shell
  cube(c.label, 2, 3, 3, 3, 4);  // core
  cube(c.label, 3, 4, 4, 4, 2);  // enhancing centre
  for (int z = 12; z < 16; ++z)  // slab z >= 12 not annotated
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16; ++x) c.label.data[test::at(c.label.geometry, x, y, z)] = 4;
  const size_t n = 16 * 16 * 16;
  c.image.geometry = c.label.geometry;
  c.image.channels = 3;
  c.image.data.assign(3 * n, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t v = c.label.data[i];
    c.image.data[i] = v >= 1 && v <= 3 ? 1.0f : 0.0f;  // WT predicted exactly
    c.image.data[n + i] = v == 2 || v == 3 ? 1.0f : 0.0f;  // TC predicted exactly
  }
  // ET: missed, and a predicted blob that lies entirely in the unannotated slab.
  for (int z = 12; z < 14; ++z)
    for (int y = 12; y < 14; ++y)
      for (int x = 12; x < 14; ++x) c.image.data[2 * n + test::at(c.label.geometry, x, y, z)] = 1.0f;

  FullVolumeValidationOptions o;
  o.window.patchZYX = {8, 8, 8};
  o.encoding.regions = {{1, 2, 3}, {2, 3}, {3}};
  o.encoding.regionNames = {"whole tumor", "tumor core", "enhancing tumor"};
  o.encoding.regionsClassOrder = {1, 2, 3};
  o.encoding.ignoreLabel = 4;
  o.numClasses = 3;  // the network's channels: with regions the validator scores R + 1
  FullVolumeValidator validator(std::make_shared<const std::vector<LoadedCase>>(std::vector<LoadedCase>{c}), o);
  const auto network = [](const torch::Tensor& x) { return (x * 2 - 1) * 10; };
  const FullVolumeScores s = validator.evaluate(network);
  ASSERT_EQ(s.dice.size(), 3u);
  EXPECT_DOUBLE_EQ(s.dice[0], 1.0);
  EXPECT_DOUBLE_EQ(s.dice[1], 1.0);
  EXPECT_DOUBLE_EQ(s.dice[2], 0.0);  // 8 reference voxels, nothing predicted on annotated ones
  EXPECT_DOUBLE_EQ(s.lesionSensitivity[0], 1.0);
  EXPECT_DOUBLE_EQ(s.lesionSensitivity[2], 0.0);
  EXPECT_DOUBLE_EQ(s.fpPerCase[2], 0.0);  // the blob on ignored voxels is no false positive
  const auto names = validator.columnNames();
  ASSERT_EQ(names.size(), 15u);
  EXPECT_EQ(names[0], "vol_dice_r1");
  EXPECT_EQ(names[2], "vol_dice_r3");
  EXPECT_EQ(names[11], "vol_fp_per_case_r3");
  EXPECT_EQ(names[12], "vol_lesion_f1_r1");
  EXPECT_EQ(names[14], "vol_lesion_f1_r3");
  EXPECT_DOUBLE_EQ(s.lesionF1[0], 1.0);  // its one lesion found, no false positive
  EXPECT_DOUBLE_EQ(s.lesionF1[2], 0.0);  // its one lesion missed: 0 / (0 + 1 + 0)
}

}  // namespace
}  // namespace seg
