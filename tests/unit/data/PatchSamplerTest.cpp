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
  o.augment = augment;
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
