// Foreground sampling under a label encoding: the ignore label is never foreground (it
// marks unannotated voxels, nnU-Net's LabelManager drops it from the foreground classes),
// and with regions the foreground "classes" are the regions (nnU-Net's foreground_regions).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "data/PatchSampler.h"

namespace seg {
namespace {

constexpr int64_t kX = 20, kY = 16, kZ = 12;
int64_t flat(int64_t x, int64_t y, int64_t z) { return (z * kY + y) * kX + x; }

// 20x16x12 (x, y, z): the half x < 10 unannotated (label 4) but for one voxel of `inside`
// at (2, 12, 2), and one voxel of `lesion` at (17, 3, 9).
std::shared_ptr<const std::vector<LoadedCase>> sparseCase(uint8_t lesion, uint8_t inside) {
  LoadedCase c;
  c.id = "sparse";
  c.image.geometry.size = {kX, kY, kZ};
  c.label.geometry = c.image.geometry;
  const int64_t n = c.image.geometry.numVoxels();
  c.image.data.assign(static_cast<size_t>(n), 0.5f);
  c.label.data.assign(static_cast<size_t>(n), 0);
  for (int64_t z = 0; z < kZ; ++z)
    for (int64_t y = 0; y < kY; ++y)
      for (int64_t x = 0; x < 10; ++x) c.label.data[static_cast<size_t>(flat(x, y, z))] = 4;
  c.label.data[static_cast<size_t>(flat(17, 3, 9))] = lesion;
  c.label.data[static_cast<size_t>(flat(2, 12, 2))] = inside;
  return std::make_shared<const std::vector<LoadedCase>>(std::vector<LoadedCase>{c});
}

PatchSamplerOptions forced(ForegroundSampling sampling, bool augment) {
  PatchSamplerOptions o;
  o.patchZYX = {6, 6, 6};
  o.batchSize = 4;
  o.foregroundFraction = 1.0;
  o.foregroundSampling = sampling;
  o.augment.enabled = augment;
  o.augment.pRotation = augment ? 1.0 : 0.0;
  o.seed = 11;
  o.labels.ignoreLabel = 4;
  return o;
}

class PatchSamplerLabelsTest : public ::testing::TestWithParam<ForegroundSampling> {};

TEST_P(PatchSamplerLabelsTest, IgnoreLabelIsNeverAForegroundCentre) {
  // Label 4 fills half the volume: as a class it would take half the forced patches
  // (class_voxel) or be the largest "lesion" (lesion_uniform). As the ignore label, every
  // forced patch holds a real foreground voxel.
  PatchSampler sampler(sparseCase(1, 2), forced(GetParam(), false));
  if (GetParam() == ForegroundSampling::LesionUniform) {
    EXPECT_EQ(sampler.lesionCount(), 2u);
  }
  for (uint64_t i = 0; i < 25; ++i) {
    const Batch batch = sampler.sample(i);
    for (int64_t s = 0; s < 4; ++s) {
      const auto l = batch.labels[s];
      EXPECT_EQ(((l == 1) | (l == 2)).sum().item<int64_t>(), 1) << "batch " << i << " sample " << s;
    }
  }
}

TEST_P(PatchSamplerLabelsTest, RegionsAreTheForegroundClasses) {
  // Regions whole tumour {1, 2, 3}, core {2, 3}, enhancing {3}: value 3 at (17, 3, 9) is in
  // all three, value 1 at (2, 12, 2) in the whole tumour only, the ignore label in none.
  PatchSamplerOptions o = forced(GetParam(), false);
  o.labels.regions = {{1, 2, 3}, {2, 3}, {3}};
  o.labels.regionNames = {"wt", "tc", "et"};
  o.labels.regionsClassOrder = {1, 2, 3};
  PatchSampler sampler(sparseCase(3, 1), o);
  // One lesion per region and component: wt has two, tc and et one each.
  if (GetParam() == ForegroundSampling::LesionUniform) {
    EXPECT_EQ(sampler.lesionCount(), 4u);
  }
  int64_t withEnhancing = 0, samples = 0;
  for (uint64_t i = 0; i < 50; ++i) {
    const Batch batch = sampler.sample(i);
    for (int64_t s = 0; s < 4; ++s, ++samples) {
      const auto l = batch.labels[s];
      EXPECT_EQ(((l == 1) | (l == 3)).sum().item<int64_t>(), 1) << "batch " << i << " sample " << s;
      withEnhancing += (l == 3).any().item<bool>() ? 1 : 0;
    }
  }
  // class_voxel: a region uniformly (3), then a voxel of it: the value-3 voxel with
  // probability 1/3 * 1/2 + 2/3 = 5/6; lesion_uniform: 3 of the 4 lesions are it.
  const double expected = GetParam() == ForegroundSampling::ClassVoxel ? 5.0 / 6.0 : 0.75;
  EXPECT_NEAR(static_cast<double>(withEnhancing) / static_cast<double>(samples), expected, 0.1);
}

INSTANTIATE_TEST_SUITE_P(Sampling, PatchSamplerLabelsTest,
                         ::testing::Values(ForegroundSampling::ClassVoxel, ForegroundSampling::LesionUniform),
                         [](const auto& info) {
                           return info.param == ForegroundSampling::ClassVoxel ? "ClassVoxel" : "LesionUniform";
                         });

TEST(PatchSamplerLabelsTest, IgnoreLabelSurvivesAugmentationAndPaddingIsBackground) {
  // Rotated, scaled, mirrored patches read labels by nearest neighbour: only values of the
  // case come out (no blend of 4 and 0), the ignore label among them; what lies outside the
  // volume is background 0 (nnU-Net: padding becomes 0), never the ignore label.
  PatchSamplerOptions o = forced(ForegroundSampling::ClassVoxel, true);
  o.patchZYX = {16, 24, 28};  // larger than the volume on every axis: padded
  o.augment.pScaling = 0.0;   // a zoom could read the corner from inside the volume
  PatchSampler sampler(sparseCase(1, 2), o);
  std::set<int64_t> values;
  for (uint64_t i = 0; i < 6; ++i) {
    const auto l = sampler.sample(i).labels;
    const auto u = std::get<0>(torch::_unique(l));
    for (int64_t k = 0; k < u.numel(); ++k) values.insert(u[k].item<int64_t>());
    // Corner of the patch: outside the 20x16x12 volume on every axis.
    EXPECT_EQ(l[0][0][0][0][0].item<int64_t>(), 0);
  }
  for (int64_t v : values) EXPECT_TRUE(v == 0 || v == 1 || v == 2 || v == 4) << "label value " << v;
  EXPECT_TRUE(values.count(4)) << "the ignore label was lost";
}

}  // namespace
}  // namespace seg
