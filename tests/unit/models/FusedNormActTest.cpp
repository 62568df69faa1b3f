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


// ---- channels-last ------------------------------------------------------------------------

torch::Tensor channelsLastCopy(const torch::Tensor& x) { return x.contiguous(at::MemoryFormat::ChannelsLast3d); }

TEST_F(FusedNormActTest, ChannelsLastInputMatchesTheReferenceAndWritesChannelsLast) {
  // 7*9*11 voxels with 5 channels: chunks and flush blocks do not divide the volume.
  const auto x = torch::randn({2, 5, 7, 9, 11}) * 3.0 +
                 torch::tensor({50.0f, -2.0f, 0.0f, 7.0f, 1.0f}).view({1, 5, 1, 1, 1});
  const auto w = torch::randn({5}), b = torch::randn({5});
  for (double slope : {0.01, 0.0, 1.5}) {
    const auto in = channelsLastCopy(x);
    const auto out = torch::empty_like(in, at::MemoryFormat::ChannelsLast3d);
    instanceNormLeakyRelu(in, out, w, b, 1e-5, slope);
    EXPECT_LT(maxAbsDiff(out, reference(x, w, b, slope)), 1e-5) << "slope " << slope;
  }
}

TEST_F(FusedNormActTest, ChannelsLastAcrossManyChunksInPlace) {
  // 40^3 = 64000 voxels: 16 chunks of 4096 per sample, so the partial sums are combined.
  torch::manual_seed(3);
  const auto x = torch::randn({2, 3, 40, 40, 40}) + 4.0;
  const auto w = torch::rand({3}) + 0.5, b = torch::randn({3});
  auto inPlace = channelsLastCopy(x);
  instanceNormLeakyRelu(inPlace, inPlace, w, b, 1e-5, 0.01);
  EXPECT_LT(maxAbsDiff(inPlace, reference(x, w, b, 0.01)), 1e-5);
}

TEST_F(FusedNormActTest, ChannelsLastWritesIntoAChannelSliceAndLeavesTheRestAlone) {
  torch::manual_seed(4);
  const auto x = torch::randn({2, 3, 4, 5, 6});
  const auto w = torch::randn({3}), b = torch::randn({3});
  auto buffer = torch::full({2, 5, 4, 5, 6}, 7.0f).contiguous(at::MemoryFormat::ChannelsLast3d);
  instanceNormLeakyRelu(channelsLastCopy(x), buffer.narrow(1, 2, 3), w, b, 1e-5, 0.01);
  EXPECT_LT(maxAbsDiff(buffer.narrow(1, 2, 3), reference(x, w, b, 0.01)), 1e-5);
  EXPECT_TRUE(torch::equal(buffer.narrow(1, 0, 2), torch::full({2, 2, 4, 5, 6}, 7.0f)));
  // A channels-last input cannot be written into an NCDHW slice (its channels are planes apart).
  auto planar = torch::zeros({2, 5, 4, 5, 6});
  EXPECT_THROW(instanceNormLeakyRelu(channelsLastCopy(x), planar.narrow(1, 2, 3), w, b, 1e-5, 0.01), c10::Error);
}

TEST_F(FusedNormActTest, ChannelsLastViewOfOneChannelSharesMemory) {
  const auto x = torch::randn({2, 1, 3, 4, 5});
  const auto view = channelsLast(x);
  EXPECT_EQ(view.data_ptr(), x.data_ptr());
  EXPECT_TRUE(view.is_contiguous(at::MemoryFormat::ChannelsLast3d));
  EXPECT_TRUE(torch::equal(view, x));
  const auto many = torch::randn({2, 3, 3, 4, 5});
  EXPECT_TRUE(channelsLast(many).is_contiguous(at::MemoryFormat::ChannelsLast3d));
  EXPECT_TRUE(torch::equal(channelsLast(many), many));
}

// The trainable op against PyTorch's autograd of instance_norm + leaky_relu: the result,
// and the gradients of input, weight and bias for a random upstream gradient.
struct Grads {
  torch::Tensor out, dx, dw, db;
};

Grads gradients(bool fused, const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& b0,
                const torch::Tensor& upstream, double slope) {
  auto x = x0.clone().requires_grad_(true);
  auto w = w0.clone().requires_grad_(true);
  auto b = b0.clone().requires_grad_(true);
  const auto out = fused ? instanceNormLeakyReluTrainable(x, w, b, 1e-5, slope) : reference(x, w, b, slope);
  (out * upstream).sum().backward();
  return {out.detach(), x.grad(), w.grad(), b.grad()};
}

TEST_F(FusedNormActTest, TrainableMatchesAutogradOfInstanceNormAndLeakyRelu) {
  const auto x = torch::randn({2, 6, 9, 10, 11}) * 2.0 + 3.0;
  const auto w = torch::randn({6}), b = torch::randn({6});
  const auto upstream = torch::randn({2, 6, 9, 10, 11});
  for (double slope : {0.01, 0.0, 1.0}) {
    const Grads ref = gradients(false, x, w, b, upstream, slope);
    const Grads got = gradients(true, x, w, b, upstream, slope);
    EXPECT_TRUE(got.out.is_contiguous(at::MemoryFormat::ChannelsLast3d));
    EXPECT_LT(maxAbsDiff(got.out, ref.out), 1e-5) << "slope " << slope;
    test::expectTensorClose(got.dx, ref.dx, 1e-5, 1e-4);
    test::expectTensorClose(got.dw, ref.dw, 1e-4, 1e-4);
    test::expectTensorClose(got.db, ref.db, 1e-4, 1e-4);
  }
}

TEST_F(FusedNormActTest, TrainableGradientOfAChannelsLastInputAcrossChunks) {
  torch::manual_seed(5);
  const auto x = channelsLastCopy(torch::randn({1, 4, 24, 24, 24}));  // 13824 voxels: 4 chunks
  const auto w = torch::rand({4}) + 0.5, b = torch::randn({4});
  const auto upstream = torch::randn({1, 4, 24, 24, 24});
  const Grads ref = gradients(false, x, w, b, upstream, 0.01);
  const Grads got = gradients(true, x, w, b, upstream, 0.01);
  test::expectTensorClose(got.dx, ref.dx, 1e-5, 1e-4);
  test::expectTensorClose(got.dw, ref.dw, 1e-3, 1e-4);
  test::expectTensorClose(got.db, ref.db, 1e-3, 1e-4);
}

TEST_F(FusedNormActTest, TrainableTakesBfloat16AsAutocastGivesItAndRoundsOnlyTheResult) {
  // The reference runs in float32 on the same bfloat16 values: ours may differ from it by the
  // rounding of the result (and of dx) to bfloat16, 2^-8 relative.
  torch::manual_seed(6);
  const auto x = (torch::randn({2, 8, 9, 10, 11}) * 2.0 + 1.0).to(torch::kBFloat16);
  const auto upstream = torch::randn({2, 8, 9, 10, 11}).to(torch::kBFloat16);
  const auto w = torch::rand({8}) + 0.5, b = torch::randn({8});
  const Grads ref = gradients(false, x.to(torch::kFloat32), w, b, upstream.to(torch::kFloat32), 0.01);
  const Grads got = gradients(true, x, w, b, upstream, 0.01);
  EXPECT_EQ(got.out.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(got.dx.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(got.dw.scalar_type(), torch::kFloat32);
  test::expectTensorClose(got.out.to(torch::kFloat32), ref.out, 1e-2, 8e-3);
  const double dxScale = ref.dx.abs().max().item<double>();
  test::expectTensorClose(got.dx.to(torch::kFloat32), ref.dx, 1e-2 * dxScale, 8e-3);
  test::expectTensorClose(got.dw, ref.dw, 1e-3, 1e-4);
  test::expectTensorClose(got.db, ref.db, 1e-3, 1e-4);
}

TEST_F(FusedNormActTest, TrainableRejectsWhatItDoesNotCompute) {
  const auto x = torch::randn({1, 3, 4, 4, 4});
  EXPECT_FALSE(instanceNormLeakyReluTrainableApplies(x.to(torch::kFloat64)));
  EXPECT_FALSE(instanceNormLeakyReluTrainableApplies(torch::randn({1, 3, 4, 4})));
  EXPECT_THROW(instanceNormLeakyReluTrainable(x.to(torch::kFloat64), torch::ones({3}), torch::zeros({3}), 1e-5, 0.01),
               c10::Error);
  EXPECT_THROW(instanceNormLeakyReluTrainable(x, torch::ones({2}), torch::zeros({3}), 1e-5, 0.01), c10::Error);
  EXPECT_THROW(instanceNormLeakyReluTrainable(x, torch::ones({3}), torch::zeros({3}), 1e-5, -0.5), c10::Error);
}

}  // namespace
}  // namespace seg
