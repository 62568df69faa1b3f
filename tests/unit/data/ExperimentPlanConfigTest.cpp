// The ready config of a plan (jobs/PlanConfig.h) and the shipped presets: nnU-Net's trainer
// defaults (nnUNetTrainer 2.8.1), the plan's topology, a YAML round trip through the loader,
// and configs/nnunet_3d_fullres.yaml and configs/resenc_l.yaml loading with data.root set.
// (Lives with the planner's tests; the code is in src/jobs.)
#include <gtest/gtest.h>

#include "config/ConfigLoader.h"
#include "data/ExperimentPlan.h"
#include "jobs/PlanConfig.h"

namespace seg {
namespace {

void expectNnunetTrainerDefaults(const TrainConfig& c) {
  EXPECT_EQ(c.train.optimizer.name, "sgd");
  EXPECT_DOUBLE_EQ(c.train.optimizer.lr, 1e-2);
  EXPECT_DOUBLE_EQ(c.train.optimizer.momentum, 0.99);
  EXPECT_TRUE(c.train.optimizer.nesterov);
  EXPECT_DOUBLE_EQ(c.train.optimizer.weight_decay, 3e-5);
  EXPECT_EQ(c.train.scheduler.name, "poly");
  EXPECT_DOUBLE_EQ(c.train.scheduler.exponent, 0.9);
  EXPECT_EQ(c.train.epochs, 1000);
  EXPECT_EQ(c.train.iterations_per_epoch, 250);
  EXPECT_EQ(c.loss.name, "dice_ce");
  EXPECT_FALSE(c.loss.include_background);
  EXPECT_TRUE(c.model.deep_supervision);
  EXPECT_DOUBLE_EQ(c.data.foreground_fraction, 0.33);
  EXPECT_DOUBLE_EQ(c.train.grad_clip, 12.0);
  EXPECT_TRUE(c.amp.enabled);
}

ExperimentPlan brainPlan(PlanPreset preset) {
  DatasetFingerprint fp;
  for (int i = 0; i < 300; ++i) fp.cases.push_back({"c" + std::to_string(i), {1, 1, 1}, {140, 170, 140}});
  ExperimentPlanOptions o;
  o.preset = preset;
  o.gpuMemoryGb = presetMemoryGb(preset);
  return planExperiment(fp, 1, 3, o);
}

TEST(ExperimentPlanConfig, CarriesThePlanAndNnunetDefaults) {
  const ExperimentPlan plan = brainPlan(PlanPreset::ResEncL);
  const TrainConfig c = configFromPlan(plan, "/data/Dataset001", {"T1"});
  expectNnunetTrainerDefaults(c);
  EXPECT_EQ(c.data.root, "/data/Dataset001");
  EXPECT_EQ(c.data.patch_size, plan.patchSize);
  EXPECT_EQ(c.train.batch_size, plan.batchSize);
  EXPECT_EQ(c.loss.batch, plan.batchDice);
  EXPECT_EQ(c.model.name, "resenc_unet");
  EXPECT_EQ(c.model.features, plan.network.features);
  EXPECT_EQ(c.model.strides, plan.network.strides);
  EXPECT_EQ(c.model.kernel_sizes, plan.network.kernels);
  EXPECT_EQ(c.model.blocks_per_stage, (std::vector<int64_t>{1, 3, 4, 6, 6, 6}));
  EXPECT_EQ(c.model.decoder_convs_per_stage, 1);
  EXPECT_EQ(c.data.normalization, "zscore");
  EXPECT_EQ(configFromPlan(plan, "x", {"CT"}).data.normalization, "ct");
  // What the writer writes, the loader reads back unchanged.
  TrainConfig back = parseTrainConfig(toYaml(c), "plan.yaml");
  back.source.clear();  // toYaml names the source in a comment
  EXPECT_EQ(toYaml(back), toYaml(c));
  // The memory model sees the same network through the config.
  const NetworkSpec n = networkFromConfig(c.model, 1, 3);
  EXPECT_DOUBLE_EQ(estimateTrainingMemory(n, c.data.patch_size, c.train.batch_size).total(), plan.estimate.total());
}

TEST(ExperimentPlanConfig, PlainPlanUsesTwoConvsPerStage) {
  const TrainConfig c = configFromPlan(brainPlan(PlanPreset::Plain), "d");
  EXPECT_EQ(c.model.name, "unet");
  EXPECT_EQ(c.model.convs_per_stage, 2);
  EXPECT_EQ(c.model.decoder_convs_per_stage, 2);
  EXPECT_EQ(c.data.patch_size, (Triple{128, 128, 128}));
}

TEST(ExperimentPlanConfig, ShippedPresetsLoadWithARoot) {
  for (const char* name : {"nnunet_3d_fullres", "resenc_l"}) {
    SCOPED_TRACE(name);
    const std::string path = std::string(SEG_SOURCE_DIR) + "/configs/" + name + ".yaml";
    const TrainConfig c = loadTrainConfig(path, {"data.root=/tmp/some_dataset"});
    expectNnunetTrainerDefaults(c);
    EXPECT_EQ(c.data.root, "/tmp/some_dataset");
    EXPECT_TRUE(c.loss.batch);
    EXPECT_EQ(c.model.features, (std::vector<int64_t>{32, 64, 128, 256, 320, 320}));
    EXPECT_EQ(c.model.strides.size(), 6u);
  }
  // The shipped ResEnc L is what the planner gives the 1 mm brain MR at 24 GB.
  const TrainConfig l = loadTrainConfig(std::string(SEG_SOURCE_DIR) + "/configs/resenc_l.yaml", {"data.root=x"});
  const ExperimentPlan plan = brainPlan(PlanPreset::ResEncL);
  EXPECT_EQ(l.data.patch_size, plan.patchSize);
  EXPECT_EQ(l.model.strides, plan.network.strides);
  EXPECT_EQ(l.model.blocks_per_stage, plan.network.encoderBlocks);
}

}  // namespace
}  // namespace seg
