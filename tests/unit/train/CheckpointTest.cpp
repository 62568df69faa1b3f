#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/Error.h"
#include "support/TestUtil.h"
#include "train/Checkpoint.h"

namespace seg {
namespace {

TEST(CheckpointTest, RoundTripRestoresWeightsOptimizerAndState) {
  test::TempDir dir;
  torch::manual_seed(3);
  UNet a(UNetOptions(1, 2).features({4, 8}));
  torch::optim::SGD opt(a->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  a->forward(torch::randn({1, 1, 8, 8, 8})).sum().backward();
  opt.step();
  CheckpointState state;
  state.epoch = 3;
  state.iteration = 120;
  state.emaDice = 0.5;
  state.bestEmaDice = 0.625;
  state.configYaml = "data:\n  root: x\n";
  const std::string path = dir.file("ckpt.pt");
  saveCheckpoint(path, a, &opt, state);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp-" + std::to_string(::getpid())));

  UNet b(UNetOptions(1, 2).features({4, 8}));
  torch::optim::SGD optB(b->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  const auto restored = loadCheckpoint(path, b, &optB);
  EXPECT_EQ(restored.epoch, 3);
  EXPECT_EQ(restored.iteration, 120);
  EXPECT_DOUBLE_EQ(restored.bestEmaDice, 0.625);
  EXPECT_EQ(restored.configYaml, state.configYaml);
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
  // Momentum buffers came back: one more identical step keeps the models identical.
  opt.zero_grad();
  optB.zero_grad();
  for (auto* m : {&a, &b}) (*m)->forward(torch::ones({1, 1, 8, 8, 8})).sum().backward();
  opt.step();
  optB.step();
  pa = a->parameters();
  pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
}

// The best-checkpoint tracking (train.select_by) travels with the state, so --resume
// continues the same selection.
TEST(CheckpointTest, SelectionStateRoundTrips) {
  test::TempDir dir;
  UNet a(UNetOptions(1, 2).features({4, 8}));
  CheckpointState state;
  state.selectBy = "lesion_f1";
  state.bestScore = 0.375;
  state.bestEpoch = 7;
  state.bestEmaDice = 0.25;
  saveCheckpoint(dir.file("a.pt"), a, nullptr, state);
  const auto restored = readCheckpointState(dir.file("a.pt"));
  EXPECT_EQ(restored.selectBy, "lesion_f1");
  EXPECT_DOUBLE_EQ(restored.bestScore, 0.375);
  EXPECT_EQ(restored.bestEpoch, 7);
  EXPECT_DOUBLE_EQ(restored.bestEmaDice, 0.25);
}

// A checkpoint written before train.select_by existed (no select_by/best_score/best_epoch
// entries) still loads, as a pseudo-Dice selection whose best score is its best EMA.
TEST(CheckpointTest, CheckpointWithoutSelectionFieldsReadsAsPseudoDice) {
  test::TempDir dir;
  UNet a(UNetOptions(1, 2).features({4, 8}));
  torch::serialize::OutputArchive archive;
  archive.write("epoch", c10::IValue(int64_t{4}));
  archive.write("iteration", c10::IValue(int64_t{40}));
  archive.write("ema_dice", c10::IValue(0.5));
  archive.write("best_ema_dice", c10::IValue(0.625));
  archive.write("in_channels", c10::IValue(int64_t{1}));
  archive.write("num_classes", c10::IValue(int64_t{2}));
  archive.write("config_yaml", c10::IValue(std::string("data:\n  root: x\n")));
  archive.write("format", c10::IValue(std::string("segtrain-checkpoint-1")));
  torch::serialize::OutputArchive modelArchive;
  a->save(modelArchive);
  archive.write("model", modelArchive);
  archive.save_to(dir.file("old.pt"));
  UNet b(UNetOptions(1, 2).features({4, 8}));
  const auto restored = loadCheckpoint(dir.file("old.pt"), b, nullptr);
  EXPECT_EQ(restored.epoch, 4);
  EXPECT_EQ(restored.selectBy, "pseudo_dice");
  EXPECT_DOUBLE_EQ(restored.bestScore, 0.625);
  EXPECT_EQ(restored.bestEpoch, 0);
}

TEST(CheckpointTest, OtherTopologyIsRefusedNamingTheParameter) {
  test::TempDir dir;
  UNet a(UNetOptions(1, 2).features({4, 8}));
  saveCheckpoint(dir.file("a.pt"), a, nullptr, CheckpointState{});
  UNet b(UNetOptions(1, 2).features({6, 8}));
  try {
    loadCheckpoint(dir.file("a.pt"), b, nullptr);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir.file("a.pt")), std::string::npos) << e.what();
  }
}

TEST(CheckpointTest, TruncatedAndMissingFilesAreInputErrors) {
  test::TempDir dir;
  UNet a(UNetOptions(1, 2).features({4, 8}));
  saveCheckpoint(dir.file("a.pt"), a, nullptr, CheckpointState{});
  const auto size = std::filesystem::file_size(dir.file("a.pt"));
  std::filesystem::resize_file(dir.file("a.pt"), size / 2);
  EXPECT_THROW(readCheckpointState(dir.file("a.pt")), InputError);
  EXPECT_THROW(loadCheckpoint(dir.file("missing.pt"), a, nullptr), InputError);
}

// A temporary left by a SIGKILL during saveCheckpoint goes; the checkpoints themselves and
// files that only look similar stay.
TEST(CheckpointTest, StaleWriteTemporariesAreRemoved) {
  test::TempDir dir;
  UNet a(UNetOptions(1, 2).features({4, 8}));
  saveCheckpoint(dir.file("checkpoint_latest.pt"), a, nullptr, CheckpointState{});
  for (const char* name : {"checkpoint_latest.pt.tmp-123", "checkpoint_best.pt.tmp-9", "notes.pt.tmp-1", "checkpoint_x.txt"}) {
    std::ofstream(dir.file(name)) << "partial";
  }
  removeStaleCheckpointTemps(dir.path());
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoint_latest.pt")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("checkpoint_latest.pt.tmp-123")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("checkpoint_best.pt.tmp-9")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("notes.pt.tmp-1")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoint_x.txt")));
  EXPECT_NO_THROW(readCheckpointState(dir.file("checkpoint_latest.pt")));
}

}  // namespace
}  // namespace seg
