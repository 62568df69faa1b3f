#include <gtest/gtest.h>
#include <torch/torch.h>

#include "infer/SlidingWindow.h"

namespace seg {
namespace {

TEST(SlidingWindowTest, StepsFollowNnUNetFormula) {
  // size 100, patch 40, overlap 0.5: target step 20, ceil(60/20)+1 = 4 tiles, actual
  // step 60/3 = 20 -> 0, 20, 40, 60.
  EXPECT_EQ(slidingWindowSteps(100, 40, 0.5), (std::vector<int64_t>{0, 20, 40, 60}));
  // size 50, patch 32: ceil(18/16)+1 = 3 tiles, step 9 -> 0, 9, 18.
  EXPECT_EQ(slidingWindowSteps(50, 32, 0.5), (std::vector<int64_t>{0, 9, 18}));
  EXPECT_EQ(slidingWindowSteps(32, 32, 0.5), (std::vector<int64_t>{0}));
  // No overlap: 96 / 32 -> 3 tiles back to back.
  EXPECT_EQ(slidingWindowSteps(96, 32, 0.0), (std::vector<int64_t>{0, 32, 64}));
}

TEST(SlidingWindowTest, GaussianPeaksAtCentreAndHasNoZeros) {
  const auto w = gaussianImportance({8, 6, 4}, 1.0 / 8.0);
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{8, 6, 4}));
  EXPECT_FLOAT_EQ(w[4][3][2].item<float>(), 1.0f);
  EXPECT_GT(w.min().item<float>(), 0.0f);
  // Separable: w(z, y, x) = gz(z) gy(y) gx(x); with sigma = 1 for z (8/8),
  // w at z = centre +- 1 is exp(-1/2).
  EXPECT_NEAR(w[3][3][2].item<float>(), std::exp(-0.5), 1e-6);
}

TEST(SlidingWindowTest, IdentityNetworkReproducesTheInput) {
  // A weighted average of identical values is the value itself: with a network
  // that returns its input, the stitched output must equal the volume everywhere,
  // including where it was padded and where tiles overlap.
  torch::manual_seed(1);
  const auto image = torch::randn({2, 20, 13, 37});
  SlidingWindowOptions options;
  options.patchZYX = {16, 16, 16};
  options.tileBatch = 3;
  const Network identity = [](const torch::Tensor& x) { return x.clone(); };
  const auto out = slidingWindowInference(image, identity, options);
  ASSERT_EQ(out.sizes(), image.sizes());
  EXPECT_TRUE(torch::allclose(out, image, 1e-5, 1e-5));
  options.mirror = true;
  EXPECT_TRUE(torch::allclose(slidingWindowInference(image, identity, options), image, 1e-5, 1e-5));
}

TEST(SlidingWindowTest, EveryTileIsVisited) {
  int64_t tiles = 0;
  const Network counter = [&](const torch::Tensor& x) {
    tiles += x.size(0);
    return torch::zeros({x.size(0), 2, x.size(2), x.size(3), x.size(4)});
  };
  SlidingWindowOptions options;
  options.patchZYX = {40, 40, 32};
  slidingWindowInference(torch::zeros({1, 100, 50, 32}), counter, options);
  EXPECT_EQ(tiles, 4 * 2 * 1);  // z: 0,20,40,60; y: 0,10; x: 0
}

}  // namespace
}  // namespace seg
