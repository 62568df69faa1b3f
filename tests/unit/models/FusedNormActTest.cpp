#include <gtest/gtest.h>
#include <torch/torch.h>

#include "models/FusedNormAct.h"
#include "support/TorchTest.h"

namespace seg {
namespace {

// PyTorch's own InstanceNorm3d(affine) + LeakyReLU: the reference.
torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double slope) {
  const auto y = torch::instance_norm(x, w, b, {}, {}, /*use_input_stats=*/true, 0.1, 1e-5, false);
  return torch::leaky_relu(y, slope);
}

// Seeded: torch::manual_seed(0) before each test (support/TorchTest.h).
class FusedNormActTest : public test::SeededTest {};

using test::maxAbsDiff;

TEST_F(FusedNormActTest, MatchesInstanceNormThenLeakyReluIncludingLargeMeansAndOddSizes) {
  // Plane 7*9*11 = 693 values: not a multiple of the 16 lanes nor the 256-value block.
  const auto x = torch::randn({2, 3, 7, 9, 11}) * 3.0 + torch::tensor({50.0f, -2.0f, 0.0f}).view({1, 3, 1, 1, 1});
  const auto w = torch::randn({3}), b = torch::randn({3});
  for (double slope : {0.01, 0.0, 1.5}) {
    const auto out = torch::empty_like(x);
    instanceNormLeakyRelu(x, out, w, b, 1e-5, slope);
    EXPECT_LT(maxAbsDiff(out, reference(x, w, b, slope)), 1e-5) << "slope " << slope;
  }
}

TEST_F(FusedNormActTest, LargePlanesStayWithin1e5) {
  torch::manual_seed(1);
  const auto x = torch::randn({1, 2, 64, 64, 64}) + 4.0;
  const auto w = torch::rand({2}) + 0.5, b = torch::randn({2});
  const auto expected = reference(x, w, b, 0.01);
  auto inPlace = x.clone();
  instanceNormLeakyRelu(inPlace, inPlace, w, b, 1e-5, 0.01);
  EXPECT_LT(maxAbsDiff(inPlace, expected), 1e-5);
}

TEST_F(FusedNormActTest, WritesIntoAChannelSliceAndLeavesTheRestAlone) {
  torch::manual_seed(2);
  const auto x = torch::randn({2, 3, 4, 5, 6});
  const auto w = torch::randn({3}), b = torch::randn({3});
  auto buffer = torch::full({2, 5, 4, 5, 6}, 7.0f);
  instanceNormLeakyRelu(x, buffer.narrow(1, 2, 3), w, b, 1e-5, 0.01);
  EXPECT_LT(maxAbsDiff(buffer.narrow(1, 2, 3), reference(x, w, b, 0.01)), 1e-5);
  EXPECT_TRUE(torch::equal(buffer.narrow(1, 0, 2), torch::full({2, 2, 4, 5, 6}, 7.0f)));
}

TEST_F(FusedNormActTest, ConstantPlaneGivesTheBias) {
  // var = 0: (x - mean) = 0 exactly thanks to the shift, so the output is bias (then activated).
  const auto x = torch::full({1, 2, 3, 3, 3}, 1234.5f);
  const auto w = torch::tensor({2.0f, 3.0f}), b = torch::tensor({0.25f, -4.0f});
  auto out = torch::empty_like(x);
  instanceNormLeakyRelu(x, out, w, b, 1e-5, 0.1);
  EXPECT_FLOAT_EQ(out[0][0].max().item<float>(), 0.25f);
  EXPECT_FLOAT_EQ(out[0][1].min().item<float>(), -0.4f);
}

TEST_F(FusedNormActTest, RejectsBadShapes) {
  const auto x = torch::randn({1, 3, 4, 4, 4});
  EXPECT_THROW(instanceNormLeakyRelu(x, torch::empty_like(x), torch::ones({2}), torch::zeros({2}), 1e-5, 0.01),
               c10::Error);
  EXPECT_THROW(instanceNormLeakyRelu(x, torch::empty({1, 3, 4, 4, 5}), torch::ones({3}), torch::zeros({3}), 1e-5, 0.01),
               c10::Error);
  EXPECT_THROW(instanceNormLeakyRelu(x.transpose(2, 4), torch::empty({1, 3, 4, 4, 4}), torch::ones({3}),
                                     torch::zeros({3}), 1e-5, 0.01),
               c10::Error);
}

}  // namespace
}  // namespace seg
