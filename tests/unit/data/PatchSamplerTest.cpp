#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/Error.h"
#include "data/BatchLoader.h"
#include "data/PatchSampler.h"

namespace seg {
namespace {

// One case 20x16x12 (x, y, z) with intensity = flat index and a single foreground
// voxel at (x=17, y=3, z=9).
std::shared_ptr<const std::vector<LoadedCase>> oneCase() {
  LoadedCase c;
  c.id = "case";
  c.image.geometry.size = {20, 16, 12};
  c.label.geometry = c.image.geometry;
  const int64_t n = c.image.geometry.numVoxels();
  c.image.data.resize(n);
  for (int64_t i = 0; i < n; ++i) c.image.data[i] = static_cast<float>(i);
  c.label.data.assign(n, 0);
  c.label.data[(9 * 16 + 3) * 20 + 17] = 1;
  return std::make_shared<const std::vector<LoadedCase>>(std::vector<LoadedCase>{c});
}

PatchSamplerOptions options(double fg, bool augment) {
  PatchSamplerOptions o;
  o.patchZYX = {8, 8, 8};
  o.batchSize = 4;
  o.foregroundFraction = fg;
  o.augment.enabled = augment;
  o.seed = 7;
  return o;
}

TEST(PatchSamplerTest, BatchIsAPureFunctionOfSeedAndIndex) {
  PatchSampler sampler(oneCase(), options(0.5, true));
  const Batch a = sampler.sample(3), b = sampler.sample(3), c = sampler.sample(4);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_FALSE(torch::equal(a.images, c.images));
}

TEST(PatchSamplerTest, ForcedSamplesContainTheForegroundVoxel) {
  // fg fraction 1: every sample is centred on the only foreground voxel.
  PatchSampler sampler(oneCase(), options(1.0, true));
  for (uint64_t i = 0; i < 5; ++i) {
    const Batch batch = sampler.sample(i);
    for (int64_t s = 0; s < 4; ++s) EXPECT_EQ(batch.labels[s].sum().item<int64_t>(), 1) << "batch " << i;
  }
}

TEST(PatchSamplerTest, UnaugmentedPatchIsAnExactCrop) {
  // Without augmentation the patch is a crop: along x, neighbouring voxels differ by
  // 1 in the flat-index intensity, along y by 20, along z by 320.
  PatchSampler sampler(oneCase(), options(0.0, false));
  const auto img = sampler.sample(0).images[0][0];
  EXPECT_FLOAT_EQ((img[0][0][1] - img[0][0][0]).item<float>(), 1.0f);
  EXPECT_FLOAT_EQ((img[0][1][0] - img[0][0][0]).item<float>(), 20.0f);
  EXPECT_FLOAT_EQ((img[1][0][0] - img[0][0][0]).item<float>(), 320.0f);
}

TEST(PatchSamplerTest, SmallVolumesArePaddedWithZeros) {
  auto o = options(0.0, false);
  o.patchZYX = {16, 16, 32};  // x 32 > 20, z 16 > 12
  PatchSampler sampler(oneCase(), o);
  const auto img = sampler.sample(0).images[0][0];
  EXPECT_EQ(img.sizes(), (std::vector<int64_t>{16, 16, 32}));
  EXPECT_FLOAT_EQ(img[0][0][0].item<float>(), 0.0f);  // z pad of 2 before
}

TEST(PatchSamplerTest, MissingLabelIsAnInputError) {
  LoadedCase c;
  c.id = "nolabel";
  c.image.geometry.size = {8, 8, 8};
  c.image.data.assign(512, 0.f);
  auto cases = std::make_shared<const std::vector<LoadedCase>>(std::vector<LoadedCase>{c});
  EXPECT_THROW(PatchSampler(cases, options(0.5, true)), InputError);
}

TEST(BatchLoaderTest, DeliversTheSamplerSequenceWhateverTheThreadCount) {
  auto sampler = std::make_shared<const PatchSampler>(oneCase(), options(0.5, true));
  for (int workers : {0, 1, 3}) {
    BatchLoader loader(sampler, workers, 2, /*firstIndex=*/5);
    for (uint64_t i = 5; i < 12; ++i) {
      const Batch got = loader.next();
      EXPECT_TRUE(torch::equal(got.images, sampler->sample(i).images)) << workers << " workers, batch " << i;
    }
    EXPECT_EQ(loader.position(), 12u);
  }
}

}  // namespace
}  // namespace seg

namespace seg {
namespace {

// A 40x40x40 case with one large cube lesion (12^3 = 1728 voxels) and three
// single-voxel lesions, far apart.
std::shared_ptr<const std::vector<LoadedCase>> lesionCase() {
  LoadedCase c;
  c.id = "lesions";
  c.image.geometry.size = {40, 40, 40};
  c.label.geometry = c.image.geometry;
  c.image.data.assign(64000, 0.f);
  c.label.data.assign(64000, 0);
  auto idx = [](int z, int y, int x) { return (z * 40 + y) * 40 + x; };
  for (int z = 2; z < 14; ++z)
    for (int y = 2; y < 14; ++y)
      for (int x = 2; x < 14; ++x) c.label.data[idx(z, y, x)] = 1;
  c.label.data[idx(30, 30, 30)] = 1;
  c.label.data[idx(30, 5, 35)] = 1;
  c.label.data[idx(35, 35, 5)] = 1;
  return std::make_shared<const std::vector<LoadedCase>>(std::vector<LoadedCase>{c});
}

// How often the centre voxel region of each tiny lesion lands in a forced patch.
std::array<int, 2> countHits(ForegroundSampling mode) {
  PatchSamplerOptions o;
  o.patchZYX = {8, 8, 8};
  o.batchSize = 1;
  o.foregroundFraction = 1.0;
  o.augment.enabled = false;
  o.foregroundSampling = mode;
  PatchSampler sampler(lesionCase(), o);
  std::array<int, 2> hits{0, 0};  // {patches holding the big lesion, patches holding a tiny one}
  for (uint64_t i = 0; i < 800; ++i) {
    const auto labels = sampler.sample(i).labels;
    const int64_t fg = labels.sum().item<int64_t>();
    if (fg == 1) ++hits[1];
    else if (fg > 1) ++hits[0];
  }
  return hits;
}

TEST(PatchSamplerTest, LesionUniformSamplingSeesTinyLesionsAsOftenAsLargeOnes) {
  // Four lesions: uniform over lesions puts ~3/4 of the patches on a tiny lesion;
  // uniform over voxels puts ~3/1731 there.
  const auto uniform = countHits(ForegroundSampling::LesionUniform);
  EXPECT_NEAR(uniform[1] / 800.0, 0.75, 0.06);
  const auto voxel = countHits(ForegroundSampling::ClassVoxel);
  EXPECT_LT(voxel[1], 10);
}

TEST(PatchSamplerTest, LesionUniformFindsEveryLesion) {
  PatchSamplerOptions o;
  o.foregroundSampling = ForegroundSampling::LesionUniform;
  o.patchZYX = {8, 8, 8};
  EXPECT_EQ(PatchSampler(lesionCase(), o).lesionCount(), 4u);
}

TEST(PatchSamplerTest, MeasuredForegroundShareFollowsTheOption) {
  // Batch 3, fraction 1/3: exactly the last sample of each batch is forced.
  PatchSamplerOptions o;
  o.patchZYX = {8, 8, 8};
  o.batchSize = 3;
  o.foregroundFraction = 1.0 / 3.0;
  o.augment.enabled = false;
  PatchSampler sampler(lesionCase(), o);
  for (uint64_t i = 0; i < 30; ++i) EXPECT_GT(sampler.sample(i).labels[2].sum().item<int64_t>(), 0);
}

TEST(PatchSamplerTest, AugmentedLabelsStayInTheirSetAndAreDeterministic) {
  PatchSamplerOptions o;
  o.patchZYX = {16, 16, 16};
  o.batchSize = 2;
  o.foregroundFraction = 0.5;
  o.augment.pRotation = 1.0;
  o.augment.pScaling = 1.0;
  PatchSampler sampler(lesionCase(), o);
  for (uint64_t i = 0; i < 10; ++i) {
    const Batch a = sampler.sample(i);
    EXPECT_TRUE(torch::equal(a.images, sampler.sample(i).images));
    EXPECT_GE(a.labels.min().item<int64_t>(), 0);
    EXPECT_LE(a.labels.max().item<int64_t>(), 1);
    EXPECT_TRUE(torch::isfinite(a.images).all().item<bool>());
  }
}

}  // namespace
}  // namespace seg
