// jobs/TrainJob.h: resolveTrainDevice (train.device against dist.backend), and runTrainJob
// end to end on a synthetic dataset of 16^3 phantoms (data/Synth.h), 8^3 patches and a
// U-Net of features {4, 8}: the run directory holds the resolved config and checkpoints that carry
// it, and the rules of a fresh run and of --resume hold.
#include "jobs/TrainJob.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "config/ConfigDiff.h"
#include "config/ConfigLoader.h"
#include "core/Error.h"
#include "core/TorchInfo.h"
#include "data/Synth.h"
#include "support/TestUtil.h"
#include "train/Checkpoint.h"

namespace seg {
namespace {

namespace fs = std::filesystem;

TrainConfig onDevice(const std::string& device, const std::string& backend) {
  TrainConfig c;
  c.train.device = device;
  c.dist.backend = backend;
  return c;
}

TEST(TrainJobTest, CpuWithGlooOrAutoIsTheCpu) {
  EXPECT_EQ(resolveTrainDevice(onDevice("cpu", "auto")), torch::Device(torch::kCPU));
  EXPECT_EQ(resolveTrainDevice(onDevice("cpu", "gloo")), torch::Device(torch::kCPU));
}

TEST(TrainJobTest, NcclOnTheCpuIsAnInputError) {
  const std::string noGpu = visibleGpus() == 0 ? " (no GPU is visible)" : "";
  EXPECT_EQ(test::errorOf([] { resolveTrainDevice(onDevice("cpu", "nccl")); }),
            "dist.backend: nccl needs a GPU, and train.device cpu resolved to the CPU" + noGpu +
                "; use gloo or auto on CPU");
  if (visibleGpus() > 0) {
    EXPECT_EQ(resolveTrainDevice(onDevice("auto", "nccl")), torch::Device(torch::kCUDA, 0));
  } else {
    EXPECT_EQ(test::errorOf([] { resolveTrainDevice(onDevice("auto", "nccl")); }),
              "dist.backend: nccl needs a GPU, and train.device auto resolved to the CPU (no GPU is visible); "
              "use gloo or auto on CPU");
  }
}

TEST(TrainJobTest, CudaWithoutAGpuNamesTrainDevice) {
  if (visibleGpus() > 0) GTEST_SKIP() << "a GPU is visible: cuda resolves to it";
  EXPECT_EQ(test::errorOf([] { resolveTrainDevice(onDevice("cuda", "auto")); }).substr(0, 41),
            "train.device: cuda requested, but no GPU ");
}

// 4 phantoms of 16^3 (3 training, 1 test), fold 0 of 3: 2 train cases, 1 validation case.
class TrainJobRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SynthOptions synth;
    synth.cases = 4;
    synth.testCases = 1;
    synth.size = {16, 16, 16};
    synth.minLesions = 1;
    synth.maxLesions = 2;
    synth.minRadius = 1.5;
    synth.maxRadius = 3.0;
    writeSynthDataset(synth, dir_.file("synth"));
    config_.source = "test.yaml";
    config_.data.root = dir_.file("synth");
    config_.data.num_folds = 3;
    config_.data.patch_size = {8, 8, 8};
    config_.data.augment = false;
    config_.data.num_workers = 0;
    config_.model.features = {4, 8};
    config_.train.epochs = 1;
    config_.train.iterations_per_epoch = 2;
    config_.train.batch_size = 2;
    config_.train.val_iterations = 1;
    config_.train.device = "cpu";
    config_.output.dir = dir_.file("run");
  }
  std::string run(const std::string& name) const { return dir_.file("run/" + name); }

  test::TempDir dir_;
  TrainConfig config_;
};

TEST_F(TrainJobRunTest, TheRunDirectoryHoldsTheResolvedConfigAndCheckpointsThatCarryIt) {
  const TrainSummary summary = runTrainJob(config_, TrainJobOptions{});
  EXPECT_EQ(summary.epochs, 1);
  EXPECT_EQ(summary.iterations, 2);
  EXPECT_FALSE(summary.stopped);
  for (const char* name : {"config.yaml", "checkpoint_latest.pt", "checkpoint_final.pt", "metrics.csv"}) {
    EXPECT_TRUE(fs::exists(run(name))) << name;
  }
  // checkpoint_best.pt follows the validation EMA, which a patch without foreground leaves unset.
  EXPECT_EQ(fs::exists(run("checkpoint_best.pt")), summary.bestEmaDice >= 0) << summary.bestEmaDice;

  // config.yaml is the config with what the job resolved filled in: the phantoms' 1 mm
  // median spacing, and nothing else changed.
  const std::string saved = test::readText(run("config.yaml"));
  const TrainConfig resolved = parseTrainConfig(saved, run("config.yaml"));
  EXPECT_EQ(resolved.data.target_spacing, (std::vector<double>{1.0, 1.0, 1.0}));
  std::vector<std::string> changed;
  for (const auto& change : configDifferences(config_, resolved)) changed.push_back(change.key);
  EXPECT_EQ(changed, std::vector<std::string>({"data.target_spacing"}));

  for (const char* name : {"checkpoint_latest.pt", "checkpoint_final.pt"}) {
    const CheckpointState state = readCheckpointState(run(name));
    EXPECT_EQ(state.configYaml, saved) << name;
    EXPECT_EQ(state.epoch, 1) << name;
    EXPECT_EQ(state.iteration, 2) << name;
    EXPECT_EQ(state.inChannels, 1) << name;
    EXPECT_EQ(state.numClasses, 2) << name;  // background + the phantoms' lesion class
  }
  // One metrics row per epoch, after the header.
  const std::string metrics = test::readText(run("metrics.csv"));
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 2) << metrics;
  EXPECT_EQ(metrics.rfind("epoch,iteration,lr,train_loss,val_dice_1,", 0), 0u) << metrics;
}

TEST_F(TrainJobRunTest, AFreshRunRefusesAnExistingRunAndResumeRefusesChangedKeys) {
  const std::string out = config_.output.dir;
  TrainJobOptions resume;
  resume.resume = true;
  EXPECT_EQ(test::errorOf([&] { runTrainJob(config_, resume); }),
            "--resume: no checkpoint to resume in '" + out + "' (expected " + out + "/checkpoint_latest.pt)");

  runTrainJob(config_, TrainJobOptions{});
  EXPECT_EQ(test::errorOf([&] { runTrainJob(config_, TrainJobOptions{}); }),
            "output directory '" + out +
                "' already holds a run: pass --resume to continue it or choose another output.dir");

  TrainConfig otherLoss = config_;
  otherLoss.loss.name = "gdl";
  otherLoss.train.optimizer.lr = 0.5;
  const std::string refused = test::errorOf([&] { runTrainJob(otherLoss, resume); });
  EXPECT_EQ(refused.rfind("--resume: the config differs from the run in '" + out + "'", 0), 0u) << refused;
  EXPECT_NE(refused.find("\n  loss.name: dice -> gdl"), std::string::npos) << refused;
  EXPECT_NE(refused.find("\n  train.optimizer.lr: "), std::string::npos) << refused;

  // Training longer is allowed: the run continues from iteration 2 to the new end.
  TrainConfig longer = config_;
  longer.train.epochs = 2;
  const TrainSummary summary = runTrainJob(longer, resume);
  EXPECT_EQ(summary.epochs, 2);
  EXPECT_EQ(summary.iterations, 4);
  EXPECT_EQ(readCheckpointState(run("checkpoint_final.pt")).iteration, 4);
}

TEST_F(TrainJobRunTest, Float16AutocastOnTheCpuIsAnInputError) {
  config_.amp.enabled = true;
  config_.amp.dtype = "float16";
  EXPECT_EQ(test::errorOf([&] { runTrainJob(config_, TrainJobOptions{}); }),
            "amp.dtype: float16 autocast needs a CUDA device (train.device resolved to cpu); use bfloat16 on CPU");
}

}  // namespace
}  // namespace seg
