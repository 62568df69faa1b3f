#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <utility>
#include <torch/torch.h>

#include "core/Autocast.h"
#include "models/UNet.h"
#include "support/TorchTest.h"

namespace seg {
namespace {

int64_t countParameters(UNet& net) {
  int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel();
  return n;
}

// Seeded: torch::manual_seed(0) before each test (support/TorchTest.h).
class UNetTest : public test::SeededTest {};

TEST_F(UNetTest, OutputHasClassChannelsAndInputSize) {
  UNet net(UNetOptions(2, 3).features({4, 8, 16}));
  const auto out = net->forward(torch::randn({2, 2, 16, 8, 12}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 16, 8, 12}));
}

TEST_F(UNetTest, ParameterCountMatchesHandCount) {
  // features {4, 8}, 1 conv per stage, in 1, classes 2, instance norm (affine):
  // enc0 conv 1->4: 4*1*27+4 = 112, norm 8; enc1 conv 4->8 (stride 2): 8*4*27+8 = 872, norm 16;
  // up 8->4 (k2, no bias): 8*4*8 = 256; dec0 conv 8->4: 4*8*27+4 = 868, norm 8; head 4->2: 2*4+2 = 10.
  UNet net(UNetOptions(1, 2).features({4, 8}).convs_per_stage(1));
  EXPECT_EQ(countParameters(net), 112 + 8 + 872 + 16 + 256 + 868 + 8 + 10);
}

TEST_F(UNetTest, NnUNetDefaultTopologyHasAbout31MParameters) {
  // nnU-Net 3d_fullres PlainConvUNet (32..320, 6 stages, 2 convs) for one input
  // channel: ~31 M parameters (nnU-Net reports 31.2 M for 2 classes without deep supervision heads).
  UNet net(UNetOptions(1, 2));
  const double millions = countParameters(net) / 1e6;
  EXPECT_GT(millions, 30.0);
  EXPECT_LT(millions, 32.0);
}

TEST_F(UNetTest, RejectsSpatialSizeNotDivisibleByStrides) {
  UNet net(UNetOptions(1, 2).features({4, 8, 16}));
  EXPECT_THROW(net->forward(torch::randn({1, 1, 16, 16, 10})), c10::Error);
}

TEST_F(UNetTest, RejectsUnknownNorm) { EXPECT_THROW(UNet(UNetOptions(1, 2).norm("layer")), c10::Error); }

TEST_F(UNetTest, GradientsReachTheFirstLayer) {
  UNet net(UNetOptions(1, 2).features({4, 8}).norm("group"));
  net->forward(torch::randn({1, 1, 8, 8, 8})).sum().backward();
  const auto first = net->parameters().front();
  ASSERT_TRUE(first.grad().defined());
  EXPECT_GT(first.grad().abs().sum().item<double>(), 0.0);
}

struct Topology {
  const char* name;
  std::vector<int64_t> features;
  StageTriples strides;   // z, y, x
  StageTriples kernels;   // z, y, x
  std::vector<int64_t> input;  // B, C, Z, Y, X
};

class UNetTopologyTest : public test::SeededParamTest<Topology> {};

TEST_P(UNetTopologyTest, OutputsHaveInputSizeAndDeepSupervisionLevelsShrinkByStrides) {
  const Topology& t = GetParam();
  UNet net(UNetOptions(t.input[1], 3).features(t.features).strides(t.strides).kernel_sizes(t.kernels).deep_supervision(true));
  const auto x = torch::randn(t.input);
  const auto out = net->forward(x);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{t.input[0], 3, t.input[2], t.input[3], t.input[4]}));
  const auto all = net->forwardAll(x);
  const size_t stages = t.features.size();
  ASSERT_EQ(all.size(), stages - 1) << "one output per decoder level";
  // Level i has the resolution of encoder stage i: input size / product of strides 0..i.
  std::array<int64_t, 3> size{t.input[2], t.input[3], t.input[4]};
  const auto strides = t.strides.empty() ? StageTriples(stages, {2, 2, 2}) : t.strides;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0)
      for (int a = 0; a < 3; ++a) size[a] /= strides[i][a];
    EXPECT_EQ(all[i].sizes(), (std::vector<int64_t>{t.input[0], 3, size[0], size[1], size[2]})) << "level " << i;
  }
  net->eval();
  torch::NoGradGuard noGrad;
  // forward() takes the fused inference path here (models/UNetInference.h), forwardAll() the
  // module-by-module one: equal up to convolution-algorithm rounding.
  test::expectTensorClose(net->forward(x), net->forwardAll(x)[0], 1e-5, 1e-5, "fused vs module-by-module forward");
}

INSTANTIATE_TEST_SUITE_P(
    Topologies, UNetTopologyTest,
    ::testing::Values(
        Topology{"Isotropic3Stages", {4, 8, 16}, {}, {}, {2, 1, 8, 8, 8}},
        // Thick slices: no downsampling along z in stage 1 (config [[1,1,1],[2,2,1],[2,2,2]] in x, y, z).
        Topology{"AnisotropicZ", {4, 8, 16}, {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}}, {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}}, {1, 2, 4, 16, 12}},
        Topology{"AnisotropicX4Stages", {4, 6, 8, 10}, {{1, 1, 1}, {2, 2, 1}, {2, 1, 2}, {1, 2, 2}}, {}, {1, 1, 8, 8, 4}},
        Topology{"TwoStages5x5Kernels", {4, 8}, {}, {{5, 5, 5}, {3, 3, 3}}, {1, 1, 4, 6, 8}}),
    [](const ::testing::TestParamInfo<Topology>& info) { return std::string(info.param.name); });

TEST_F(UNetTest, SizeDivisorsArePerAxisStrideProducts) {
  UNet net(UNetOptions(1, 2).features({4, 8, 16}).strides({{1, 1, 1}, {1, 2, 2}, {2, 2, 2}}));
  EXPECT_EQ(net->sizeDivisors(), (std::array<int64_t, 3>{2, 4, 4}));
  EXPECT_EQ(net->sizeDivisor(), 4);
  EXPECT_NO_THROW(net->forward(torch::randn({1, 1, 2, 4, 4})));
  EXPECT_THROW(net->forward(torch::randn({1, 1, 2, 4, 6})), c10::Error);
}

std::string errorOf(const UNetOptions& o) {
  try {
    UNet net(o);
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "(no error)";
}

TEST_F(UNetTest, BadStageOptionsNameTheOption) {
  EXPECT_NE(errorOf(UNetOptions(1, 2).features({4, 8}).strides({{1, 1, 1}})).find("strides has 1 entries for 2 stages"),
            std::string::npos);
  EXPECT_NE(errorOf(UNetOptions(1, 2).features({4, 8}).kernel_sizes({{3, 3, 3}, {3, 2, 3}}))
                .find("kernel_sizes[1] = [3, 2, 3]: every kernel size must be odd"),
            std::string::npos);
  EXPECT_NE(errorOf(UNetOptions(1, 2).features({4, 8}).strides({{2, 2, 2}, {2, 2, 2}})).find("strides[0] = [2, 2, 2] must be [1, 1, 1]"),
            std::string::npos);
  EXPECT_NE(errorOf(UNetOptions(1, 2).checkpointing(true).dropout(0.2)).find("checkpointing needs dropout 0"),
            std::string::npos);
  EXPECT_NE(errorOf(UNetOptions(1, 2).checkpointing(true).norm("batch")).find("checkpointing cannot be combined with norm 'batch'"),
            std::string::npos);
}

TEST_F(UNetTest, WithoutDeepSupervisionForwardAllIsTheFullResolutionOutput) {
  UNet net(UNetOptions(1, 2).features({4, 8, 16}));
  EXPECT_EQ(net->forwardAll(torch::randn({1, 1, 8, 8, 8})).size(), 1u);
}

TEST_F(UNetTest, DeepSupervisionKeepsParameterNamesOfThePlainNetwork) {
  // Heads are added under ds_heads.*, so the names of everything else are unchanged.
  UNet plain(UNetOptions(1, 2).features({4, 8, 16}));
  UNet deep(UNetOptions(1, 2).features({4, 8, 16}).deep_supervision(true));
  const auto a = plain->named_parameters().keys();
  const auto b = deep->named_parameters().keys();
  ASSERT_EQ(b.size(), a.size() + 2);  // one head (weight, bias) for the 2 decoder levels minus full resolution
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]);
  EXPECT_EQ(b.back(), "ds_heads.0.bias");
}

// A loss that depends on every output voxel with a different weight (a plain sum
// would have zero gradient through instance norm).
torch::Tensor projection(const std::vector<torch::Tensor>& outs) {
  torch::Tensor total = torch::zeros({});
  for (const auto& o : outs) total = total + (o * torch::cos(torch::arange(o.numel(), o.options()).reshape(o.sizes()))).sum();
  return total;
}

TEST_F(UNetTest, GradientsReachEveryParameterIncludingDeepSupervisionHeads) {
  torch::manual_seed(1);
  UNet net(UNetOptions(1, 2).features({4, 8, 16}).strides({{1, 1, 1}, {1, 2, 2}, {2, 2, 2}}).deep_supervision(true));
  projection(net->forwardAll(torch::randn({2, 1, 4, 8, 8}))).backward();
  for (const auto& p : net->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

std::vector<torch::Tensor> gradientsOf(bool checkpointing, bool deep, const std::string& norm) {
  torch::manual_seed(3);
  UNet net(UNetOptions(2, 3).features({4, 8, 16}).norm(norm).strides({{1, 1, 1}, {1, 2, 2}, {2, 2, 2}})
               .deep_supervision(deep).checkpointing(checkpointing).fused_training(false));
  const auto x = torch::randn({2, 2, 4, 8, 8}, torch::requires_grad());
  projection(net->forwardAll(x)).backward();
  std::vector<torch::Tensor> grads{x.grad().clone()};
  for (const auto& p : net->parameters()) grads.push_back(p.grad().clone());
  return grads;
}

TEST_F(UNetTest, CheckpointingGivesTheSameGradients) {
  for (const std::string norm : {"instance", "group"}) {
    for (bool deep : {false, true}) {
      const auto plain = gradientsOf(false, deep, norm);
      const auto recomputed = gradientsOf(true, deep, norm);
      ASSERT_EQ(plain.size(), recomputed.size());
      for (size_t i = 0; i < plain.size(); ++i) {
        test::expectTensorClose(plain[i], recomputed[i], 1e-6, 1e-5,
                                norm + " deep=" + std::to_string(deep) + " tensor " + std::to_string(i));
      }
    }
  }
}

// The CPU training path (channels-last activations, fused instance norm + LeakyReLU)
// against the module-by-module forward, both in float32, with the module forward in float64
// as the reference: the logits at every level and every gradient must be as close to it as
// the float32 module forward's are (float rounding of different summation orders, no more).
std::vector<torch::Tensor> trainingOutputs(bool fused, int64_t inChannels, double dropout, torch::Dtype dtype,
                                           bool bf16Autocast = false, int64_t size = 8,
                                           const std::string& encoder = "plain", bool checkpointing = false) {
  torch::manual_seed(7);
  UNet net(UNetOptions(inChannels, 3).features({4, 8, 16}).strides({{1, 1, 1}, {1, 2, 2}, {2, 2, 2}})
               .deep_supervision(true).dropout(dropout).fused_training(fused).encoder(encoder)
               .checkpointing(checkpointing));
  net->to(dtype);
  torch::manual_seed(8);
  const auto x = torch::randn({2, inChannels, size / 2, size, size}).to(dtype).requires_grad_(true);
  torch::manual_seed(9);  // the same dropout masks on every side
  std::vector<torch::Tensor> outs;
  {
    AutocastGuard autocast(c10::DeviceType::CPU, bf16Autocast, torch::kBFloat16);
    outs = net->forwardAll(x);
  }
  // The projection in the network's dtype (bfloat16 logits would round its cosine weights).
  for (auto& o : outs) o = o.to(dtype);
  projection(outs).backward();
  std::vector<torch::Tensor> result;
  for (const auto& o : outs) {
    EXPECT_TRUE(o.is_contiguous()) << "logits leave in NCDHW";
    result.push_back(o.detach().to(torch::kFloat64));
  }
  result.push_back(x.grad().to(torch::kFloat64));
  for (const auto& p : net->parameters()) result.push_back(p.grad().to(torch::kFloat64));
  return result;
}

// Each fused output at most a few times the float32 module path's distance from float64.
void expectAsCloseAsTheModulePath(const std::vector<torch::Tensor>& exact, const std::vector<torch::Tensor>& plain,
                                  const std::vector<torch::Tensor>& fused, const std::string& what) {
  ASSERT_EQ(exact.size(), fused.size());
  for (size_t i = 0; i < exact.size(); ++i) {
    if (exact[i].abs().max().item<double>() < 1e-10) {
      // A convolution bias in front of an instance norm: its gradient is exactly zero (the
      // norm subtracts the mean), float32 leaves summation noise on both paths.
      EXPECT_LT(fused[i].abs().max().item<double>(), 1e-4) << what << " tensor " << i;
      continue;
    }
    const double scale = std::max(1.0, exact[i].abs().max().item<double>());
    const double plainError = test::maxAbsDiff(plain[i], exact[i]) / scale;
    const double fusedError = test::maxAbsDiff(fused[i], exact[i]) / scale;
    // Measured: within 3.4x of the module path's error, at most 1.5e-5 of the scale.
    EXPECT_LT(fusedError, std::max(5.0 * plainError, 1e-5))
        << what << " tensor " << i << ": float32 module error " << plainError;
  }
}

TEST_F(UNetTest, FusedTrainingPathIsAsCloseToFloat64AsTheModuleForward) {
  for (int64_t inChannels : {1, 2}) {
    for (double dropout : {0.0, 0.2}) {  // with training-mode dropout the module path runs on both sides
      const auto exact = trainingOutputs(false, inChannels, dropout, torch::kFloat64);
      const auto plain = trainingOutputs(false, inChannels, dropout, torch::kFloat32);
      const auto fused = trainingOutputs(true, inChannels, dropout, torch::kFloat32);
      expectAsCloseAsTheModulePath(exact, plain, fused,
                                   "in_channels " + std::to_string(inChannels) + " dropout " + std::to_string(dropout));
    }
  }
}

TEST_F(UNetTest, ResidualEncoderOnTheChannelsLastPathIsAsCloseToFloat64AsTheModuleForward) {
  // ConvNormAct puts the dropout before the norm, so training-mode dropout and checkpointing
  // keep the fused op here; the same masks are drawn in the same order on every side.
  for (const auto& [dropout, checkpointing] : {std::pair<double, bool>{0.0, false}, {0.2, false}, {0.0, true}}) {
    const auto exact = trainingOutputs(false, 2, dropout, torch::kFloat64, false, 8, "residual", checkpointing);
    const auto plain = trainingOutputs(false, 2, dropout, torch::kFloat32, false, 8, "residual", checkpointing);
    const auto fused = trainingOutputs(true, 2, dropout, torch::kFloat32, false, 8, "residual", checkpointing);
    expectAsCloseAsTheModulePath(exact, plain, fused,
                                 "residual dropout " + std::to_string(dropout) + " checkpointing " +
                                     std::to_string(checkpointing));
  }
  // Evaluation without grad: fused_inference on takes the same path.
  torch::manual_seed(7);
  UNet fused(UNetOptions(2, 3).features({4, 8, 16}).encoder("residual"));
  UNet plain(UNetOptions(2, 3).features({4, 8, 16}).encoder("residual").fused_inference(false));
  {
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < fused->parameters().size(); ++i) plain->parameters()[i].copy_(fused->parameters()[i]);
  }
  fused->eval();
  plain->eval();
  torch::NoGradGuard noGrad;
  const auto x = torch::randn({1, 2, 16, 16, 16});
  const auto got = fused->forward(x);
  EXPECT_TRUE(got.is_contiguous());
  test::expectTensorClose(got, plain->forward(x), 1e-5, 1e-4, "residual eval, fused_inference on vs off");
}

TEST_F(UNetTest, FusedTrainingPathUnderBfloat16AutocastIsAsCloseToFloat64AsTheModuleForward) {
  // bfloat16 keeps 8 bits and oneDNN's bfloat16 reductions vary from run to run, so single
  // small gradients are noise on both paths: compare the relative L2 error of all logits and
  // of all gradients together (the convolution biases before a norm, exactly zero, left out).
  // 16 x 32 x 32: the deepest stage's norms see 128 voxels (with 4 the bfloat16 module
  // path's gradients were 40-50 % off, at times NaN).
  const auto exact = trainingOutputs(false, 1, 0.0, torch::kFloat64, false, 32);
  const auto plain = trainingOutputs(false, 1, 0.0, torch::kFloat32, true, 32);
  const auto fused = trainingOutputs(true, 1, 0.0, torch::kFloat32, true, 32);
  ASSERT_EQ(exact.size(), fused.size());
  const size_t levels = 2;  // forwardAll: full resolution + one deep-supervision level
  auto relativeL2 = [&](const std::vector<torch::Tensor>& got, size_t begin, size_t end) {
    double err = 0.0, norm = 0.0;
    for (size_t i = begin; i < end; ++i) {
      if (exact[i].abs().max().item<double>() < 1e-10) continue;
      err += (got[i] - exact[i]).pow(2).sum().item<double>();
      norm += exact[i].pow(2).sum().item<double>();
    }
    return std::sqrt(err / norm);
  };
  for (const auto& [begin, end, what] : {std::tuple<size_t, size_t, const char*>{0, levels, "logits"},
                                         std::tuple<size_t, size_t, const char*>{levels, exact.size(), "gradients"}}) {
    const double plainError = relativeL2(plain, begin, end), fusedError = relativeL2(fused, begin, end);
    // Measured: logits 1.6 %, gradients 17 % on both paths (a random network in 8 bits).
    EXPECT_LT(plainError, 0.3) << what << ": the comparison itself is off (bfloat16 module path)";
    EXPECT_LT(fusedError, 2.0 * plainError + 0.01) << what << ": bfloat16 module error " << plainError;
  }
}

TEST_F(UNetTest, CheckpointingIsOffInEvalAndUnderNoGrad) {
  UNet net(UNetOptions(1, 2).features({4, 8}).checkpointing(true));
  net->eval();
  torch::NoGradGuard noGrad;
  EXPECT_FALSE(net->forward(torch::randn({1, 1, 4, 4, 4})).requires_grad());
}

}  // namespace
}  // namespace seg
