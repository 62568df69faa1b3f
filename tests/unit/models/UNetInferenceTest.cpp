#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <thread>

#include "core/Autocast.h"
#include "models/UNet.h"
#include "models/UNetInference.h"
#include "support/TorchTest.h"

namespace seg {
namespace {

// The same network twice: `fused` with the default options, `plain` with fused_inference
// off, holding copies of fused's weights.
struct Pair {
  UNet fused{nullptr}, plain{nullptr};
};

Pair makePair(UNetOptions options) {
  torch::manual_seed(5);
  Pair p{UNet(options), UNet(options.fused_inference(false))};
  torch::NoGradGuard noGrad;
  const auto source = p.fused->named_parameters();
  for (auto& param : p.plain->named_parameters()) {
    // Perturbed 1-D parameters (norm weight/bias, conv bias: 1 and 0 after init) so that they matter.
    auto& mine = source[param.key()];
    if (mine.dim() == 1) mine.add_(0.3 * torch::randn_like(mine));
    param.value().copy_(mine);
  }
  p.fused->eval();
  p.plain->eval();
  return p;
}

struct Case {
  const char* name;
  UNetOptions options;
  std::vector<int64_t> input;
};

class UNetInferenceTest : public ::testing::TestWithParam<Case> {};

TEST_P(UNetInferenceTest, FusedForwardEqualsPlainForwardWithin1e5) {
  const Case& c = GetParam();
  Pair p = makePair(c.options);
  torch::manual_seed(6);
  const auto x = torch::randn(c.input) * 2.0 + 0.5;
  torch::NoGradGuard noGrad;
  ASSERT_TRUE(fusedInferenceApplies(*p.fused, x));
  ASSERT_FALSE(fusedInferenceApplies(*p.plain, x));
  const auto plain = p.plain->forward(x);
  const auto fused = p.fused->forward(x);
  ASSERT_EQ(fused.sizes(), plain.sizes());
  // 1e-5 relative to the logits' scale: the plain forward alone moves by as much (1.4e-5
  // on logits up to 4 for the benchmark U-Net) between batch 1 and batch 2, where
  // LibTorch switches its own convolutions from im2col to oneDNN.
  const double scale = std::max(1.0, plain.abs().max().item<double>());
  EXPECT_LT(test::maxAbsDiff(fused, plain), 1e-5 * scale) << "max |logit| " << scale;
  // forward() took the fused path, and it is deterministic.
  EXPECT_TRUE(torch::equal(fused, fusedInferenceForward(*p.fused, x)));
}

INSTANTIATE_TEST_SUITE_P(
    Topologies, UNetInferenceTest,
    ::testing::Values(
        Case{"Benchmark4StagesBatch1", UNetOptions(1, 2).features({16, 32, 64, 128}), {1, 1, 32, 32, 32}},
        Case{"Batch2TwoChannelsThreeClasses", UNetOptions(2, 3).features({4, 8, 16}), {2, 2, 16, 8, 12}},
        Case{"AnisotropicStridesAndKernels",
             UNetOptions(1, 2).features({4, 8, 16}).strides({{1, 1, 1}, {1, 2, 2}, {2, 2, 2}})
                 .kernel_sizes({{1, 3, 3}, {3, 3, 3}, {3, 3, 3}}),
             {1, 1, 4, 16, 12}},
        Case{"OneConvPerStageWithDropout", UNetOptions(1, 2).features({4, 8}).convs_per_stage(1).dropout(0.3),
             {2, 1, 8, 8, 8}},
        Case{"ThreeConvsPerStageReLU", UNetOptions(1, 4).features({4, 8, 8}).convs_per_stage(3).negative_slope(0.0),
             {1, 1, 8, 8, 8}}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(UNetInferenceTest, OnlyEvalInstanceNormFloatCpuWithoutAutogradOrAutocast) {
  UNet net(UNetOptions(1, 2).features({4, 8}));
  const auto x = torch::randn({1, 1, 8, 8, 8});
  EXPECT_FALSE(fusedInferenceApplies(*net, x)) << "training mode";
  net->eval();
  EXPECT_FALSE(fusedInferenceApplies(*net, x)) << "autograd on";
  {
    c10::InferenceMode inference;
    EXPECT_TRUE(fusedInferenceApplies(*net, torch::randn({1, 1, 8, 8, 8})));
  }
  torch::NoGradGuard noGrad;
  EXPECT_TRUE(fusedInferenceApplies(*net, x));
  EXPECT_FALSE(fusedInferenceApplies(*net, x.to(torch::kFloat64))) << "float64";
  {
    AutocastGuard bf16(c10::DeviceType::CPU, true, torch::kBFloat16);
    EXPECT_FALSE(fusedInferenceApplies(*net, x)) << "bf16 autocast keeps the plain path";
  }
  UNet group(UNetOptions(1, 2).features({4, 8}).norm("group"));
  group->eval();
  EXPECT_FALSE(fusedInferenceApplies(*group, x)) << "group norm";
  EXPECT_THROW(fusedInferenceForward(*group, x), c10::Error);
  EXPECT_THROW(net->forward(torch::randn({1, 1, 8, 8, 5})), c10::Error) << "size checks still apply";
}

TEST(UNetInferenceTest, ConcurrentCallsGiveTheSameResult) {
  // Sliding-window tile workers call forward from several threads at once.
  Pair p = makePair(UNetOptions(1, 2).features({4, 8, 16}));
  torch::NoGradGuard noGrad;
  const auto a = torch::randn({1, 1, 16, 16, 16}), b = torch::randn({1, 1, 16, 16, 16});
  const auto expectA = p.fused->forward(a), expectB = p.fused->forward(b);
  torch::Tensor gotA, gotB;
  std::thread t1([&] { c10::InferenceMode m; for (int i = 0; i < 3; ++i) gotA = p.fused->forward(a); });
  std::thread t2([&] { c10::InferenceMode m; for (int i = 0; i < 3; ++i) gotB = p.fused->forward(b); });
  t1.join();
  t2.join();
  EXPECT_TRUE(torch::equal(gotA, expectA));
  EXPECT_TRUE(torch::equal(gotB, expectB));
}

}  // namespace
}  // namespace seg
