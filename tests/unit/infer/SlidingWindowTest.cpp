#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <atomic>
#include <stdexcept>

#include "infer/SlidingWindow.h"
#include "support/TorchTest.h"

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
  // size 49, patch 32: 3 tiles, step 8.5; np.round(8.5) = 8 (halves to even) -> 0, 8, 17.
  EXPECT_EQ(slidingWindowSteps(49, 32, 0.5), (std::vector<int64_t>{0, 8, 17}));
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
  test::expectTensorClose(out, image, 1e-5, 1e-5, "identity network");
  options.mirror = true;
  test::expectTensorClose(slidingWindowInference(image, identity, options), image, 1e-5, 1e-5, "identity network, mirror TTA");
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

TEST(SlidingWindowTest, MirrorTtaOnAMirrorSymmetricModelEqualsNoTta) {
  // A convolution whose kernels are symmetric under every axis flip commutes with
  // flipping: f(flip(x)) = flip(f(x)). Averaging the 8 flipped predictions must then give
  // the plain prediction, which checks that every flip is undone on the right axes.
  torch::manual_seed(3);
  auto conv = torch::nn::Conv3d(torch::nn::Conv3dOptions(2, 3, 3).padding(1));
  {
    torch::NoGradGuard noGrad;
    auto w = conv->weight.clone();
    auto sym = torch::zeros_like(w);
    for (int mask = 0; mask < 8; ++mask) {
      std::vector<int64_t> dims;
      for (int a = 0; a < 3; ++a)
        if (mask & (1 << a)) dims.push_back(a + 2);
      sym += dims.empty() ? w : w.flip(dims);
    }
    conv->weight.copy_(sym / 8.0);
  }
  const Network net = [&](const torch::Tensor& x) { return conv->forward(x); };
  const auto image = torch::randn({2, 21, 18, 27});
  SlidingWindowOptions options;
  options.patchZYX = {12, 10, 16};
  options.tileBatch = 2;
  torch::NoGradGuard noGrad;
  const auto plain = slidingWindowInference(image, net, options);
  options.mirror = true;
  const auto tta = slidingWindowInference(image, net, options);
  ASSERT_EQ(plain.sizes(), (std::vector<int64_t>{3, 21, 18, 27}));
  test::expectTensorClose(plain, tta, 1e-5, 1e-5, "symmetric model, TTA vs none");

  // And a model that is not symmetric does change under TTA (the test can fail).
  const Network shifted = [&](const torch::Tensor& x) { return x.roll({1}, {4}); };
  options.mirror = false;
  const auto a = slidingWindowInference(image, shifted, options);
  options.mirror = true;
  EXPECT_FALSE(test::tensorsClose(a, slidingWindowInference(image, shifted, options), 1e-3, 1e-3));
}

TEST(SlidingWindowTest, TileWorkersGiveTheSequentialResultBitForBit) {
  // Accumulation happens on the calling thread in tile order, so spreading the network
  // calls over worker threads must not change a single bit of the output.
  torch::manual_seed(5);
  auto conv = torch::nn::Conv3d(torch::nn::Conv3dOptions(1, 3, 3).padding(1));
  const Network net = [&](const torch::Tensor& x) { return torch::leaky_relu(conv->forward(x), 0.01); };
  const auto image = torch::randn({1, 37, 29, 41});
  SlidingWindowOptions options;
  options.patchZYX = {16, 16, 16};
  options.tileBatch = 1;
  const auto sequential = slidingWindowInference(image, net, options);
  for (int64_t workers : {2, 3, 7}) {
    options.workers = workers;
    EXPECT_TRUE(torch::equal(slidingWindowInference(image, net, options), sequential)) << workers << " workers";
  }
}

TEST(SlidingWindowTest, AWorkerFailureIsRethrownAndThreadCountRestored) {
  const int threads = at::get_num_threads();
  std::atomic<int> calls{0};
  const Network failing = [&](const torch::Tensor& x) {
    if (++calls == 3) throw std::runtime_error("tile network failed");
    return torch::zeros({x.size(0), 2, x.size(2), x.size(3), x.size(4)});
  };
  SlidingWindowOptions options;
  options.patchZYX = {8, 8, 8};
  options.tileBatch = 1;
  options.workers = 2;
  try {
    slidingWindowInference(torch::zeros({1, 32, 32, 32}), failing, options);
    FAIL() << "expected the worker's exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "tile network failed");
  }
  EXPECT_EQ(at::get_num_threads(), threads);
}

TEST(SlidingWindowTest, AutoTileWorkersFollowThreadsUpToFour) {
  EXPECT_EQ(resolveTileWorkers(3, torch::kCPU), 3);
  EXPECT_EQ(resolveTileWorkers(0, torch::kCPU), std::clamp(at::get_num_threads(), 1, 4));
  EXPECT_EQ(resolveTileWorkers(0, torch::Device(torch::kCUDA, 0)), 1);
  EXPECT_EQ(resolveTileWorkers(5, torch::Device(torch::kCUDA, 0)), 1);
}

}  // namespace
}  // namespace seg
