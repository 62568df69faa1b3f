#include <gtest/gtest.h>
#include <torch/torch.h>

#include "models/UNet.h"

namespace seg {
namespace {

int64_t countParameters(UNet& net) {
  int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel();
  return n;
}

TEST(UNetTest, OutputHasClassChannelsAndInputSize) {
  torch::manual_seed(0);
  UNet net(UNetOptions(2, 3).features({4, 8, 16}));
  const auto out = net->forward(torch::randn({2, 2, 16, 8, 12}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 16, 8, 12}));
}

TEST(UNetTest, ParameterCountMatchesHandCount) {
  // features {4, 8}, 1 conv per stage, in 1, classes 2, instance norm (affine):
  // enc0 conv 1->4: 4*1*27+4 = 112, norm 8; enc1 conv 4->8 (stride 2): 8*4*27+8 = 872, norm 16;
  // up 8->4 (k2, no bias): 8*4*8 = 256; dec0 conv 8->4: 4*8*27+4 = 868, norm 8; head 4->2: 2*4+2 = 10.
  UNet net(UNetOptions(1, 2).features({4, 8}).convs_per_stage(1));
  EXPECT_EQ(countParameters(net), 112 + 8 + 872 + 16 + 256 + 868 + 8 + 10);
}

TEST(UNetTest, NnUNetDefaultTopologyHasAbout31MParameters) {
  // nnU-Net 3d_fullres PlainConvUNet (32..320, 6 stages, 2 convs) for one input
  // channel: ~31 M parameters (nnU-Net reports 31.2 M for 2 classes without deep supervision heads).
  UNet net(UNetOptions(1, 2));
  const double millions = countParameters(net) / 1e6;
  EXPECT_GT(millions, 30.0);
  EXPECT_LT(millions, 32.0);
}

TEST(UNetTest, RejectsSpatialSizeNotDivisibleByStrides) {
  UNet net(UNetOptions(1, 2).features({4, 8, 16}));
  EXPECT_THROW(net->forward(torch::randn({1, 1, 16, 16, 10})), c10::Error);
}

TEST(UNetTest, RejectsUnknownNorm) { EXPECT_THROW(UNet(UNetOptions(1, 2).norm("layer")), c10::Error); }

TEST(UNetTest, GradientsReachTheFirstLayer) {
  UNet net(UNetOptions(1, 2).features({4, 8}).norm("group"));
  net->forward(torch::randn({1, 1, 8, 8, 8})).sum().backward();
  const auto first = net->parameters().front();
  ASSERT_TRUE(first.grad().defined());
  EXPECT_GT(first.grad().abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace seg
