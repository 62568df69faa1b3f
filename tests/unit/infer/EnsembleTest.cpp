// Ensembles (src/infer/Ensemble.h, docs/evaluation.md "Ensembles"): the members' softmax or
// sigmoid probabilities averaged per tile batch, then blended by the sliding window. The
// expected values are written out from the definitions (exp / sum, 1 / (1 + exp(-z))), not
// taken from torch::softmax or from the code under test.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/Error.h"
#include "infer/Ensemble.h"
#include "infer/SlidingWindow.h"
#include "support/TorchTest.h"

namespace seg {
namespace {

using EnsembleTest = test::SeededTest;

// softmax over dim 1 by its definition, in float64.
torch::Tensor softmaxByHand(const torch::Tensor& z) {
  const auto e = z.to(torch::kFloat64).exp();
  return e / e.sum(1, /*keepdim=*/true);
}

torch::Tensor sigmoidByHand(const torch::Tensor& z) { return 1.0 / (1.0 + (-z.to(torch::kFloat64)).exp()); }

// A member whose output depends on its tile's borders (zero-padded 3x3x3 convolution), so the
// overlapping tiles of a sliding window see different values at the same voxel.
Network convMember(int64_t inChannels, int64_t outChannels, double scale) {
  const auto w = torch::randn({outChannels, inChannels, 3, 3, 3}) * scale;
  const auto b = torch::randn({outChannels});
  return [w, b](const torch::Tensor& x) { return torch::conv3d(x, w, b, 1, 1); };
}

TEST_F(EnsembleTest, SoftmaxMembersAverageTheirProbabilities) {
  const auto x = torch::randn({2, 1, 4, 5, 3});
  const Network a = [](const torch::Tensor& t) { return torch::cat({t, -t, 2 * t}, 1); };
  const Network b = [](const torch::Tensor& t) { return torch::cat({0.5 * t, t * t, -3 * t}, 1); };
  const auto out = averagedProbabilities({a, b}, /*sigmoid=*/false)(x);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 4, 5, 3}));
  EXPECT_EQ(out.scalar_type(), torch::kFloat32);
  const auto expected = (softmaxByHand(a(x)) + softmaxByHand(b(x))) / 2.0;
  test::expectTensorClose(out, expected, 1e-6, 1e-6, "mean of the members' softmax");
  // A mean of probability vectors is one: the channels sum to 1 at every voxel.
  test::expectTensorClose(out.sum(1), torch::ones({2, 4, 5, 3}), 1e-6, 0.0, "channel sums");
}

TEST_F(EnsembleTest, SigmoidMembersAverageEachChannel) {
  const auto x = torch::randn({1, 2, 3, 4, 5}) * 4;
  const Network a = [](const torch::Tensor& t) { return t; };
  const Network b = [](const torch::Tensor& t) { return -0.5 * t + 1; };
  const Network c = [](const torch::Tensor& t) { return t * t - 2; };
  const auto out = averagedProbabilities({a, b, c}, /*sigmoid=*/true)(x);
  const auto expected = (sigmoidByHand(a(x)) + sigmoidByHand(b(x)) + sigmoidByHand(c(x))) / 3.0;
  test::expectTensorClose(out, expected, 1e-6, 1e-6, "mean of the members' sigmoid");
  EXPECT_GE(out.min().item<double>(), 0.0);
  EXPECT_LE(out.max().item<double>(), 1.0);
}

TEST_F(EnsembleTest, HalfPrecisionLogitsAreAveragedInFloat32) {
  const auto x = torch::randn({1, 1, 2, 2, 2});
  const Network a = [](const torch::Tensor& t) { return torch::cat({t, -t}, 1).to(torch::kBFloat16); };
  const auto out = averagedProbabilities({a}, false)(x);
  EXPECT_EQ(out.scalar_type(), torch::kFloat32);
  test::expectTensorClose(out, softmaxByHand(a(x).to(torch::kFloat32)), 1e-6, 1e-6, "bf16 logits");
}

TEST_F(EnsembleTest, BlendedEnsembleIsTheMeanOfTheMembersBlendedProbabilities) {
  // The blending is linear with the same tiles and weights for every member, so blending the
  // averaged probabilities equals averaging each member's blended probabilities.
  const auto image = torch::randn({1, 21, 18, 13});
  const Network m1 = convMember(1, 3, 1.0), m2 = convMember(1, 3, 2.0), m3 = convMember(1, 3, 0.5);
  SlidingWindowOptions options;
  options.patchZYX = {8, 8, 8};
  options.overlap = 0.5;
  options.tileBatch = 3;
  for (const bool mirror : {false, true}) {
    options.mirror = mirror;
    const auto ensemble = slidingWindowInference(image, averagedProbabilities({m1, m2, m3}, false), options);
    torch::Tensor mean = torch::zeros_like(ensemble);
    for (const Network& m : {m1, m2, m3}) {
      const Network probs = [m](const torch::Tensor& x) { return softmaxByHand(m(x)).to(torch::kFloat32); };
      mean += slidingWindowInference(image, probs, options) / 3.0;
    }
    test::expectTensorClose(ensemble, mean, 1e-5, 1e-5, mirror ? "with mirror TTA" : "no TTA");
    test::expectTensorClose(ensemble.sum(0), torch::ones({21, 18, 13}), 1e-5, 0.0, "blended channel sums");
    // Not nnU-Net's rule (softmax of the mean blended logits): with members this different the
    // two must differ somewhere, or this test would not tell them apart.
    torch::Tensor logits = torch::zeros_like(ensemble);
    for (const Network& m : {m1, m2, m3}) logits += slidingWindowInference(image, m, options) / 3.0;
    EXPECT_GT(test::maxAbsDiff(ensemble, softmaxByHand(logits.unsqueeze(0)).squeeze(0)), 1e-3);
  }
}

TEST_F(EnsembleTest, IdenticalMembersGiveTheMemberAlone) {
  const auto x = torch::randn({3, 2, 4, 4, 4});
  const Network m = convMember(2, 4, 1.0);
  const auto one = averagedProbabilities({m}, false)(x);
  const auto three = averagedProbabilities({m, m, m}, false)(x);
  test::expectTensorClose(one, softmaxByHand(m(x)), 1e-6, 1e-6, "one member");
  test::expectTensorClose(three, one, 1e-6, 1e-6, "three copies of one member");
}

TEST(EnsembleErrorTest, NoMembersIsAnInternalError) {
  EXPECT_THROW(averagedProbabilities({}, false), InternalError);
}

}  // namespace
}  // namespace seg
