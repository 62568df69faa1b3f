// Fine-tuning weights (train/InitFrom.h) on U-Nets with features {4, 8}: equal tensors are
// copied bit for bit, heads keep the fresh model's init when the class count changes, the
// first conv follows timm's adapt_input_conv (values by hand), and any other mismatch is an
// InputError naming the checkpoint and the tensors with both shapes, leaving the model as it was.
#include "train/InitFrom.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/Error.h"
#include "models/UNet.h"
#include "support/TestUtil.h"
#include "support/TorchTest.h"
#include "train/Checkpoint.h"

namespace seg {
namespace {

class InitFromTest : public test::SeededTest {
 protected:
  test::TempDir dir_;
};

UNet net(uint64_t seed, UNetOptions options) {
  torch::manual_seed(seed);
  return UNet(std::move(options));
}

UNetOptions tiny(int64_t in, int64_t classes) { return UNetOptions(in, classes).features({4, 8}); }

NamedTensors tensorsOf(UNet& model) {
  NamedTensors out;
  for (const auto& item : model->named_parameters()) out.emplace_back(item.key(), item.value().detach().clone());
  for (const auto& item : model->named_buffers()) out.emplace_back(item.key(), item.value().detach().clone());
  return out;
}

std::map<std::string, torch::Tensor> mapOf(const NamedTensors& tensors) {
  return std::map<std::string, torch::Tensor>(tensors.begin(), tensors.end());
}

InitFromOptions from(const std::string& source) {
  InitFromOptions o;
  o.source = source;
  return o;
}

std::string initError(UNet& model, const NamedTensors& source) {
  return test::errorOf([&] { initFrom(*model, source, from("runs/a/checkpoint_final.pt")); });
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(InitFromTest, EqualShapesAreCopiedBitForBitParametersAndBuffers) {
  // Batch norm brings buffers (running mean/var, batch count): they are model state too.
  UNet source = net(1, tiny(1, 2).norm("batch"));
  {
    torch::NoGradGuard noGrad;
    for (auto& b : source->buffers()) b.add_(3);
  }
  UNet target = net(2, tiny(1, 2).norm("batch"));
  const NamedTensors weights = tensorsOf(source);
  const InitFromReport report = initFrom(*target, weights, from("a.pt"));
  EXPECT_EQ(report.loaded, static_cast<int64_t>(weights.size()));
  EXPECT_EQ(report.adapted, 0);
  EXPECT_EQ(report.reinitialised, 0);
  const auto expected = mapOf(weights);
  for (const auto& [name, t] : tensorsOf(target)) {
    EXPECT_TRUE(torch::equal(t, expected.at(name))) << name;
  }
  EXPECT_EQ(report.summary(), "loaded " + std::to_string(weights.size()) + " tensors, adapted 0, re-initialised 0");
}

TEST_F(InitFromTest, HeadsKeepTheFreshInitWhenTheClassCountChanges) {
  // 3 stages with deep supervision: head.* and ds_heads.0.* are the segmentation layers.
  UNet source = net(1, UNetOptions(1, 2).features({4, 8, 16}).deep_supervision(true));
  UNet target = net(2, UNetOptions(1, 3).features({4, 8, 16}).deep_supervision(true));
  const auto fresh = mapOf(tensorsOf(target));
  const auto weights = mapOf(tensorsOf(source));
  const InitFromReport report = initFrom(*target, tensorsOf(source), from("a.pt"));
  EXPECT_EQ(report.reinitialised, 4);  // head.weight, head.bias, ds_heads.0.weight, ds_heads.0.bias
  EXPECT_EQ(report.classesFrom, 2);
  EXPECT_EQ(report.classesTo, 3);
  for (const auto& [name, t] : tensorsOf(target)) {
    const bool head = name.rfind("head.", 0) == 0 || name.rfind("ds_heads.", 0) == 0;
    EXPECT_TRUE(torch::equal(t, head ? fresh.at(name) : weights.at(name))) << name;
  }
  // The model's own init (nnU-Net's InitWeights_He): zero biases, weights not all zero.
  EXPECT_EQ(target->named_parameters()["head.bias"].abs().max().item<float>(), 0.0f);
  EXPECT_GT(target->named_parameters()["head.weight"].abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(contains(report.summary(), "re-initialised 4 (classes 2 -> 3)")) << report.summary();
}

TEST_F(InitFromTest, DeepSupervisionHeadsMayBeAbsentOnEitherSide) {
  UNet plain = net(1, UNetOptions(1, 2).features({4, 8, 16}));
  UNet supervised = net(2, UNetOptions(1, 2).features({4, 8, 16}).deep_supervision(true));
  const InitFromReport gained = initFrom(*supervised, tensorsOf(plain), from("a.pt"));
  EXPECT_EQ(gained.reinitialised, 2);
  EXPECT_EQ(gained.classesFrom, 0);
  EXPECT_TRUE(contains(gained.summary(), "(heads absent from the checkpoint)")) << gained.summary();

  UNet again = net(3, UNetOptions(1, 2).features({4, 8, 16}));
  const InitFromReport dropped = initFrom(*again, tensorsOf(supervised), from("a.pt"));
  EXPECT_EQ(dropped.skipped, 2);
  EXPECT_EQ(dropped.reinitialised, 0);
  const auto json = nlohmann::json::parse(dropped.toJson());
  EXPECT_EQ(json["skipped"], 2);
  bool sawSkipped = false;
  for (const auto& t : json["tensors"]) {
    if (t["action"] == "skipped") {
      sawSkipped = true;
      EXPECT_TRUE(t["model_shape"].is_null());
      // ds_heads.0 reads decoder level 0 (features[1] = 8 channels) into 2 classes.
      const auto shape = t["checkpoint_shape"].get<std::vector<int64_t>>();
      EXPECT_TRUE(shape == std::vector<int64_t>({2, 8, 1, 1, 1}) || shape == std::vector<int64_t>({2})) << t.dump();
    }
  }
  EXPECT_TRUE(sawSkipped);
}

TEST_F(InitFromTest, AdaptInputConvFollowsTimmsRuleByHand) {
  // One output channel, kernel 1: old channel weights [3, 6].
  const auto w = torch::tensor({3.0f, 6.0f}).view({1, 2, 1, 1, 1});
  // C_new = 1: the sum of the old channels.
  EXPECT_TRUE(torch::equal(adaptInputConv(w, 1).flatten(), torch::tensor({9.0f})));
  // C_new = 3: channel c takes old channel c mod 2, times 2/3.
  test::expectTensorClose(adaptInputConv(w, 3).flatten(), torch::tensor({2.0f, 4.0f, 2.0f}), 1e-6, 0);
  // C_new = 4: times 2/4.
  test::expectTensorClose(adaptInputConv(w, 4).flatten(), torch::tensor({1.5f, 3.0f, 1.5f, 3.0f}), 1e-6, 0);
  // From one channel [6] to 2 and 3: 6/2 and 6/3 in every channel.
  const auto one = torch::tensor({6.0f}).view({1, 1, 1, 1, 1});
  test::expectTensorClose(adaptInputConv(one, 2).flatten(), torch::tensor({3.0f, 3.0f}), 1e-6, 0);
  test::expectTensorClose(adaptInputConv(one, 3).flatten(), torch::tensor({2.0f, 2.0f, 2.0f}), 1e-6, 0);
  EXPECT_EQ(adaptInputConv(w.to(torch::kFloat64), 3).scalar_type(), torch::kFloat64);
}

TEST_F(InitFromTest, TheFirstConvIsAdaptedWhenTheInputChannelsChange) {
  UNet source = net(1, tiny(2, 2));
  UNet target = net(2, tiny(3, 2));
  const auto weights = mapOf(tensorsOf(source));
  const InitFromReport report = initFrom(*target, tensorsOf(source), from("a.pt"));
  EXPECT_EQ(report.adapted, 1);
  EXPECT_EQ(report.inChannelsFrom, 2);
  EXPECT_EQ(report.inChannelsTo, 3);
  const auto w = weights.at("encoder.0.0.weight");
  const auto adapted = target->named_parameters()["encoder.0.0.weight"];
  ASSERT_EQ(adapted.sizes(), (std::vector<int64_t>{4, 3, 3, 3, 3}));
  // Channel 0 <- old 0, 1 <- old 1, 2 <- old 0, each times 2/3.
  test::expectTensorClose(adapted.select(1, 0), w.select(1, 0) * (2.0 / 3.0), 1e-7, 1e-6, "channel 0");
  test::expectTensorClose(adapted.select(1, 1), w.select(1, 1) * (2.0 / 3.0), 1e-7, 1e-6, "channel 1");
  test::expectTensorClose(adapted.select(1, 2), w.select(1, 0) * (2.0 / 3.0), 1e-7, 1e-6, "channel 2");
  EXPECT_TRUE(torch::equal(target->named_parameters()["encoder.0.0.bias"], weights.at("encoder.0.0.bias")));
  for (const auto& [name, t] : tensorsOf(target)) {
    if (name != "encoder.0.0.weight") EXPECT_TRUE(torch::equal(t, weights.at(name))) << name;
  }
  EXPECT_TRUE(contains(report.summary(), "adapted 1 (in channels 2 -> 3)")) << report.summary();
}

TEST_F(InitFromTest, OneToTwoChannelsKeepsTheResponseToARepeatedImage) {
  // The point of the C_old / C_new scale: two copies of the same image give the old response.
  UNet source = net(1, tiny(1, 2));
  UNet target = net(2, tiny(2, 2));
  initFrom(*target, tensorsOf(source), from("a.pt"));
  torch::NoGradGuard noGrad;
  source->eval();
  target->eval();
  const auto x = torch::randn({1, 1, 8, 8, 8});
  test::expectTensorClose(target->forward(torch::cat({x, x}, 1)), source->forward(x), 1e-5, 1e-4);
}

TEST_F(InitFromTest, AnotherArchitectureIsAnErrorNamingTheTensorsWithBothShapesAndChangesNothing) {
  UNet source = net(1, tiny(1, 2));
  UNet target = net(2, UNetOptions(1, 2).features({4, 16}));
  const auto before = mapOf(tensorsOf(target));
  const std::string message = initError(target, tensorsOf(source));
  EXPECT_TRUE(contains(message, "checkpoint 'runs/a/checkpoint_final.pt' does not fit the configured model")) << message;
  EXPECT_TRUE(contains(message, "encoder.1.0.weight: (8, 4, 3, 3, 3) in the checkpoint, (16, 4, 3, 3, 3) in the model"))
      << message;
  EXPECT_TRUE(contains(message, "... and ")) << "more than 5 tensors differ: " << message;
  for (const auto& [name, t] : tensorsOf(target)) EXPECT_TRUE(torch::equal(t, before.at(name))) << name;
}

TEST_F(InitFromTest, MissingAndUnexpectedTensorsAreErrors) {
  // convs_per_stage 3 has a third conv + norm per stage: tensors the 2-conv checkpoint lacks.
  UNet two = net(1, tiny(1, 2));
  UNet three = net(2, tiny(1, 2).convs_per_stage(3));
  const std::string missing = initError(three, tensorsOf(two));
  EXPECT_TRUE(contains(missing, "encoder.0.6.weight: missing in the checkpoint (model (4, 4, 3, 3, 3))")) << missing;
  const std::string unexpected = initError(two, tensorsOf(three));
  EXPECT_TRUE(contains(unexpected, "encoder.0.6.weight: in the checkpoint (4, 4, 3, 3, 3) but not in the model"))
      << unexpected;
}

TEST_F(InitFromTest, OnlyTheClassDimensionOfAHeadAndTheChannelDimensionOfTheFirstConvMayDiffer) {
  // A head whose input width differs, or a first conv whose output width differs, is not
  // a class or channel change: named like any other mismatch.
  UNet source = net(1, tiny(1, 2));
  NamedTensors weights = tensorsOf(source);
  for (auto& [name, t] : weights) {
    if (name == "head.weight") t = torch::zeros({2, 5, 1, 1, 1});
  }
  UNet target = net(2, tiny(1, 2));
  const std::string head = initError(target, weights);
  EXPECT_TRUE(contains(head, "head.weight: (2, 5, 1, 1, 1) in the checkpoint, (2, 4, 1, 1, 1) in the model")) << head;

  UNet wider = net(3, UNetOptions(2, 2).features({6, 8}));
  const std::string conv = initError(wider, tensorsOf(source));
  EXPECT_TRUE(contains(conv, "encoder.0.0.weight: (4, 1, 3, 3, 3) in the checkpoint, (6, 2, 3, 3, 3) in the model"))
      << conv;
}

TEST_F(InitFromTest, TheResidualEncodersStemIsItsFirstConvAndAPlainSourceDoesNotFit) {
  const auto residual = [](int64_t in) { return tiny(in, 2).encoder("residual").blocks_per_stage({1, 1}); };
  UNet source = net(1, residual(1));
  UNet target = net(2, residual(2));
  const InitFromReport report = initFrom(*target, tensorsOf(source), from("a.pt"));
  EXPECT_EQ(report.adapted, 1);
  for (const auto& e : report.entries) {
    if (e.action == InitAction::Adapted) {
      EXPECT_EQ(e.name.rfind("encoder.0.", 0), 0u) << e.name << " is not in the stem";
      EXPECT_EQ(e.sourceShape, (std::vector<int64_t>{4, 1, 3, 3, 3}));
    }
  }
  UNet plain = net(3, tiny(1, 2));
  EXPECT_TRUE(contains(initError(target, tensorsOf(plain)), "does not fit the configured model"));
}

TEST_F(InitFromTest, ReadsTheModelTensorsOfASavedCheckpoint) {
  UNet source = net(1, tiny(1, 2).norm("batch"));
  CheckpointState state;
  state.configYaml = "model: {}\n";
  const std::string path = dir_.file("checkpoint_final.pt");
  saveCheckpoint(path, source, nullptr, state);
  const NamedTensors read = readCheckpointWeights(path);
  const NamedTensors expected = tensorsOf(source);
  ASSERT_EQ(read.size(), expected.size());
  const auto byName = mapOf(read);
  for (const auto& [name, t] : expected) {
    ASSERT_TRUE(byName.count(name)) << name;
    EXPECT_TRUE(torch::equal(byName.at(name), t)) << name;
  }
  UNet target = net(2, tiny(1, 3).norm("batch"));
  const InitFromReport report = initFrom(*target, read, from(path));
  EXPECT_EQ(report.loaded + report.reinitialised, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(report.reinitialised, 2);
  const auto json = nlohmann::json::parse(report.toJson());
  EXPECT_EQ(json["source"], path);
  EXPECT_EQ(json["classes"]["from"], 2);
  EXPECT_EQ(json["classes"]["to"], 3);
  EXPECT_TRUE(json["in_channels"].is_null());
  EXPECT_EQ(json["tensors"].size(), expected.size());
  EXPECT_EQ(json["tensors"][0]["name"], "encoder.0.0.weight");
  EXPECT_EQ(json["tensors"][0]["action"], "loaded");
}

TEST_F(InitFromTest, AMissingOrForeignFileIsAnInputErrorNamingIt) {
  const std::string missing = dir_.file("nope.pt");
  EXPECT_TRUE(contains(test::errorOf([&] { readCheckpointWeights(missing); }), missing));
  const std::string text = dir_.file("notes.pt");
  test::writeText(text, "not a checkpoint");
  EXPECT_TRUE(contains(test::errorOf([&] { readCheckpointWeights(text); }), text));
}

TEST_F(InitFromTest, FreezingMatchesByPrefixAndNeedsAMatch) {
  UNet model = net(1, tiny(1, 2));
  for (auto& p : model->parameters()) p.mutable_grad() = torch::ones_like(p);
  const int64_t frozen = setParametersFrozen(*model, "encoder.", true);
  int64_t encoder = 0;
  for (const auto& item : model->named_parameters()) {
    const bool inEncoder = item.key().rfind("encoder.", 0) == 0;
    encoder += inEncoder;
    EXPECT_EQ(item.value().requires_grad(), !inEncoder) << item.key();
    EXPECT_EQ(item.value().grad().defined(), !inEncoder) << item.key();
  }
  EXPECT_EQ(frozen, encoder);
  setParametersFrozen(*model, "encoder.", false);
  for (const auto& p : model->parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_TRUE(contains(test::errorOf([&] { setParametersFrozen(*model, "backbone.", true); }), "backbone."));
}

}  // namespace
}  // namespace seg
