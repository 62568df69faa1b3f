#include "models/TorchScriptExport.h"

#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "models/UNet.h"
#include "support/TestUtil.h"
#include "support/TorchTest.h"

namespace seg {
namespace {

struct ExportCase {
  const char* name;
  UNetOptions options;
  std::array<int64_t, 3> patch;               // traced on this (z, y, x)
  std::vector<int64_t> otherInput;            // and run on this other valid shape too
};

std::vector<ExportCase> exportCases() {
  return {
      {"plain_instance_ds", UNetOptions(1, 3).features({4, 8, 16}).deep_supervision(true), {16, 16, 16}, {2, 1, 8, 24, 32}},
      {"plain_group_dropout_anisotropic",
       UNetOptions(2, 2).features({4, 8, 8}).norm("group").dropout(0.2).strides({{1, 1, 1}, {1, 2, 2}, {1, 2, 2}}),
       {4, 16, 16},
       {1, 2, 6, 12, 20}},
      {"resenc_ds",
       UNetOptions(1, 2)
           .features({4, 8, 16})
           .encoder("residual")
           .blocks_per_stage({1, 2, 2})
           .decoder_convs_per_stage(1)
           .upsample_bias(true)
           .strides({{1, 1, 1}, {1, 2, 2}, {2, 2, 2}})
           .deep_supervision(true),
       {8, 16, 16},
       {2, 1, 4, 24, 8}},
  };
}

class TorchScriptExportTest : public test::SeededParamTest<ExportCase> {};

// A network whose norm weights and biases are not their 1 / 0 initial values (the residual
// blocks start with a zero last norm), so every tensor matters to the result.
UNet perturbed(UNetOptions options) {
  UNet net(options.fused_inference(false));
  torch::NoGradGuard noGrad;
  for (auto& p : net->parameters())
    if (p.dim() == 1) p.add_(0.3 * torch::randn_like(p));
  net->eval();
  return net;
}

TEST_P(TorchScriptExportTest, LoadedModuleGivesTheNetworksLogits) {
  const ExportCase& c = GetParam();
  UNet net = perturbed(c.options);
  const std::string archive = torchScriptArchive(*net, c.patch, R"({"k": 1})");
  test::TempDir dir;
  const std::string path = (std::filesystem::path(dir.path()) / "model.pt").string();
  std::ofstream(path, std::ios::binary) << archive;
  ASSERT_TRUE(std::filesystem::file_size(path) == archive.size());

  torch::jit::Module loaded = torch::jit::load(path);
  torch::NoGradGuard noGrad;
  const auto in = net->options().in_channels();
  for (const auto& shape : {std::vector<int64_t>{1, in, c.patch[0], c.patch[1], c.patch[2]}, c.otherInput}) {
    const torch::Tensor x = torch::randn(shape);
    const torch::Tensor expected = net->forward(x);
    const torch::Tensor actual = loaded.forward({x}).toTensor();
    ASSERT_EQ(actual.sizes(), expected.sizes()) << c.name;
    test::expectTensorClose(actual, expected, 1e-5, 0.0, std::string(c.name) + " input " + c10::str(x.sizes()));
  }
}

TEST_P(TorchScriptExportTest, ParametersKeepTheirNamesAndValues) {
  const ExportCase& c = GetParam();
  UNet net = perturbed(c.options);
  std::istringstream in(torchScriptArchive(*net, c.patch, "{}"));
  torch::jit::Module loaded = torch::jit::load(in);
  const auto mine = net->named_parameters();
  size_t count = 0;
  for (const auto& p : loaded.named_parameters()) {
    ASSERT_TRUE(mine.contains(p.name)) << p.name;
    EXPECT_TRUE(torch::equal(p.value, mine[p.name])) << p.name;
    ++count;
  }
  EXPECT_EQ(count, mine.size());
  // The deep-supervision heads are parameters of the module but not used by forward.
  if (c.options.deep_supervision()) {
    EXPECT_TRUE(mine.contains("ds_heads.0.weight"));
  }
}

INSTANTIATE_TEST_SUITE_P(Networks, TorchScriptExportTest, ::testing::ValuesIn(exportCases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TorchScriptExport, MetadataIsAnExtraFileAndAnAttribute) {
  UNet net = perturbed(UNetOptions(1, 2).features({4, 8}));
  const std::string json = R"({"input": {"patch_size_zyx": [8, 8, 8]}})";
  std::istringstream in(torchScriptArchive(*net, {8, 8, 8}, json));
  torch::jit::ExtraFilesMap extra{{kTorchScriptMetadataFile, ""}};
  torch::jit::Module loaded = torch::jit::load(in, std::nullopt, extra);
  EXPECT_EQ(extra.at(kTorchScriptMetadataFile), json);
  EXPECT_EQ(loaded.attr(kTorchScriptMetadataAttribute).toStringRef(), json);
}

TEST(TorchScriptExport, RefusesTheFusedPathAndTrainingMode) {
  UNet fused(UNetOptions(1, 2).features({4, 8}));
  fused->eval();
  EXPECT_THROW(torchScriptArchive(*fused, {8, 8, 8}, "{}"), c10::Error);
  UNet training(UNetOptions(1, 2).features({4, 8}).fused_inference(false));
  EXPECT_THROW(torchScriptArchive(*training, {8, 8, 8}, "{}"), c10::Error);
  // A size the strides do not divide: UNet's own message.
  training->eval();
  try {
    torchScriptArchive(*training, {8, 8, 7}, "{}");
    FAIL() << "no error for size 7";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("must be divisible by"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seg
