// The planner's invariants (data/ExperimentPlan.h): the estimate fits the target, a bigger
// target never gives a smaller patch or batch, patches are divisible by the pooling, the
// presets' blocks and features; the memory model on a network small enough to count by hand.
// The topology itself is checked against nnU-Net in ExperimentPlanTopologyTest.cpp.
#include "data/ExperimentPlan.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/Error.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

DatasetFingerprint fingerprintOf(const std::array<double, 3>& spacing, const Triple& size, int cases) {
  DatasetFingerprint fp;
  for (int i = 0; i < cases; ++i) fp.cases.push_back({"c" + std::to_string(i), spacing, size});
  return fp;
}

struct Dataset {
  const char* name;
  DatasetFingerprint fp;
};

std::vector<Dataset> datasets() {
  return {{"ct_iso", fingerprintOf({0.8, 0.8, 0.8}, {512, 512, 400}, 100)},
          {"ct_thick", fingerprintOf({0.75, 0.75, 5.0}, {512, 512, 60}, 40)},
          {"brain_mr", fingerprintOf({1, 1, 1}, {140, 170, 140}, 300)},
          {"small", fingerprintOf({1, 1, 1}, {64, 64, 48}, 8)}};
}

ExperimentPlanOptions optionsFor(PlanPreset preset, double gb) {
  ExperimentPlanOptions o;
  o.preset = preset;
  o.gpuMemoryGb = gb;
  return o;
}

double voxels(const Triple& p) { return static_cast<double>(p[0]) * static_cast<double>(p[1]) * static_cast<double>(p[2]); }

TEST(ExperimentPlan, EstimateFitsTheTargetAndPatchIsDivisible) {
  for (const auto& d : datasets()) {
    for (PlanPreset preset : {PlanPreset::Plain, PlanPreset::ResEncM, PlanPreset::ResEncL, PlanPreset::ResEncXL}) {
      for (double gb : {8.0, 24.0, 40.0}) {
        SCOPED_TRACE(std::string(d.name) + " " + presetName(preset) + " " + std::to_string(gb));
        const ExperimentPlan p = planExperiment(d.fp, 1, 3, optionsFor(preset, gb));
        EXPECT_LE(p.estimate.total(), p.budgetBytes);
        EXPECT_GE(p.batchSize, 2);
        const size_t stages = p.network.features.size();
        ASSERT_EQ(p.network.strides.size(), stages);
        ASSERT_EQ(p.network.kernels.size(), stages);
        EXPECT_EQ(p.network.strides[0], (Triple{1, 1, 1}));
        for (int a = 0; a < 3; ++a) {
          int64_t divisor = 1;
          for (const Triple& s : p.network.strides) divisor *= s[a];
          EXPECT_EQ(p.patchSize[a] % divisor, 0) << "axis " << a;
          EXPECT_LE(static_cast<double>(p.patchSize[a]), std::max(d.fp.cases[0].size[a] * 1.0, 1.0) * 2);
        }
        for (size_t s = 0; s < stages; ++s) {
          EXPECT_EQ(p.network.features[s], std::min<int64_t>(320, 32 << s));
        }
      }
    }
  }
}

TEST(ExperimentPlan, BiggerTargetNeverGivesASmallerPatchOrBatch) {
  for (const auto& d : datasets()) {
    for (PlanPreset preset : {PlanPreset::Plain, PlanPreset::ResEncL}) {
      ExperimentPlan previous;
      bool first = true;
      for (double gb : {6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 40.0, 80.0}) {
        SCOPED_TRACE(std::string(d.name) + " " + presetName(preset) + " " + std::to_string(gb));
        const ExperimentPlan p = planExperiment(d.fp, 1, 2, optionsFor(preset, gb));
        if (!first) {
          for (int a = 0; a < 3; ++a) EXPECT_GE(p.patchSize[a], previous.patchSize[a]) << "axis " << a;
          if (p.patchSize == previous.patchSize) {
            EXPECT_GE(p.batchSize, previous.batchSize);
          }
          EXPECT_GE(voxels(p.patchSize) * static_cast<double>(p.batchSize),
                    voxels(previous.patchSize) * static_cast<double>(previous.batchSize) * 0.999);
        }
        previous = p;
        first = false;
      }
    }
  }
}

TEST(ExperimentPlan, PresetsSetBlocksAndDecoderConvs) {
  const DatasetFingerprint fp = datasets()[0].fp;
  const ExperimentPlan plain = planExperiment(fp, 1, 2, optionsFor(PlanPreset::Plain, 8));
  EXPECT_EQ(plain.network.name, "unet");
  EXPECT_EQ(plain.network.encoderBlocks, std::vector<int64_t>(plain.network.features.size(), 2));
  EXPECT_EQ(plain.network.decoderConvs, 2);
  const ExperimentPlan l = planExperiment(fp, 1, 2, optionsFor(PlanPreset::ResEncL, 24));
  EXPECT_EQ(l.network.name, "resenc_unet");
  ASSERT_EQ(l.network.features.size(), 6u);  // 0.8 mm isotropic: 5 poolings
  EXPECT_EQ(l.network.encoderBlocks, (std::vector<int64_t>{1, 3, 4, 6, 6, 6}));
  EXPECT_EQ(l.network.decoderConvs, 1);
  EXPECT_TRUE(l.network.deepSupervision);
  EXPECT_EQ(parsePlanPreset("resenc_xl"), PlanPreset::ResEncXL);
  EXPECT_EQ(presetMemoryGb(PlanPreset::ResEncM), 8);
  EXPECT_EQ(presetMemoryGb(PlanPreset::ResEncL), 24);
  EXPECT_EQ(presetMemoryGb(PlanPreset::ResEncXL), 40);
}

TEST(ExperimentPlan, AnisotropicSpacingGivesInPlaneKernelsFirst) {
  const ExperimentPlan p = planExperiment(datasets()[1].fp, 1, 2, optionsFor(PlanPreset::Plain, 8));
  // 0.75 x 0.75 x 5 mm: z neither pools nor convolves (kernel 1) until in-plane pooling has
  // brought x and y within a factor 2 of it.
  EXPECT_EQ(p.network.kernels[0], (Triple{3, 3, 1}));
  EXPECT_EQ(p.network.strides[1], (Triple{2, 2, 1}));
  EXPECT_EQ(p.network.kernels.back(), (Triple{3, 3, 3}));
}

TEST(ExperimentPlan, BatchDiceFollowsNnunetsLowresRule) {
  // A 512 x 512 x 400 CT cannot be covered by one patch: nnU-Net adds 3d_lowres and uses
  // batch Dice for 3d_fullres. A 64 x 64 x 48 case fits whole: no lowres, per-sample Dice.
  EXPECT_TRUE(planExperiment(datasets()[0].fp, 1, 2, optionsFor(PlanPreset::Plain, 8)).batchDice);
  EXPECT_FALSE(planExperiment(datasets()[3].fp, 1, 2, optionsFor(PlanPreset::Plain, 8)).batchDice);
}

TEST(ExperimentPlan, DatasetShareCapsTheBatch) {
  // 8 cases of 64 x 64 x 48 at 8 GB: the plain preset may see at most 5% of the voxels per
  // batch, which is below 2 patches here: the minimum of 2 wins.
  const ExperimentPlan p = planExperiment(datasets()[3].fp, 1, 2, optionsFor(PlanPreset::Plain, 40));
  EXPECT_EQ(p.batchSize, 2);
  const ExperimentPlan m = planExperiment(datasets()[3].fp, 1, 2, optionsFor(PlanPreset::ResEncM, 40));
  EXPECT_GT(m.batchSize, 2);  // ResEnc presets allow the whole dataset (nnU-Net's max_dataset_covered 1)
}

TEST(ExperimentPlan, BadTargetsAreInputErrors) {
  const DatasetFingerprint fp = datasets()[0].fp;
  EXPECT_THROW(planExperiment(fp, 1, 2, optionsFor(PlanPreset::Plain, 0)), InputError);
  EXPECT_THROW(planExperiment(fp, 1, 2, optionsFor(PlanPreset::Plain, -4)), InputError);
  try {
    planExperiment(fp, 1, 2, optionsFor(PlanPreset::ResEncXL, 0.7));
    FAIL() << "0.7 GB planned";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--gpu-memory-gb 0.7"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parsePlanPreset("resenc_xxl"), InputError);
  EXPECT_THROW(planExperiment(DatasetFingerprint{}, 1, 2, optionsFor(PlanPreset::Plain, 8)), InputError);
}

TEST(MemoryModel, CountsATinyPlainUNetByHand) {
  NetworkSpec n;
  n.inChannels = 1;
  n.numClasses = 2;
  n.features = {4, 8};
  n.strides = {{1, 1, 1}, {2, 2, 2}};
  n.kernels = {{3, 3, 3}, {3, 3, 3}};
  n.encoderBlocks = {2, 2};
  n.decoderConvs = 2;
  MemoryModelOptions o;
  o.activationBytes = 4;
  o.convWorkspaceBytes = 0;
  const MemoryEstimate e = estimateTrainingMemory(n, {8, 8, 8}, 1, o);
  // Saved elements: input 1 x 512; encoder 0: 2 convs x 2 maps x 4 ch x 512; encoder 1:
  // 2 x 2 x 8 x 64; decoder 0: concatenation 8 x 512 + 2 convs x 2 maps x 4 x 512.
  EXPECT_DOUBLE_EQ(e.activations, 4.0 * (512 + 8192 + 2048 + 12288));
  // Loss: head logits 2 x 512 (4 bytes) + 3 fp32 maps of 2 x 512 + int64 labels + fp32 input.
  EXPECT_DOUBLE_EQ(e.loss, 2 * 512 * 4.0 + 3 * 2 * 512 * 4.0 + 512 * 8.0 + 512 * 4.0);
  // Parameters: enc0 1->4 and 4->4 (3^3 + bias), enc1 4->8 and 8->8, up 8->4 (2^3, no bias),
  // dec0 8->4 and 4->4, head 4->2; norms 2 per conv channel.
  const int64_t params = (1 * 4 * 27 + 4) + (4 * 4 * 27 + 4) + (4 * 8 * 27 + 8) + (8 * 8 * 27 + 8) + (8 * 4 * 8) +
                         (8 * 4 * 27 + 4) + (4 * 4 * 27 + 4) + (4 * 2 + 2) + 2 * (4 + 4 + 8 + 8 + 4 + 4);
  EXPECT_EQ(e.parameterCount, params);
  EXPECT_DOUBLE_EQ(e.parameters, 12.0 * static_cast<double>(params));
  EXPECT_DOUBLE_EQ(e.workspace, 2.0 * 8 * 512 * 4.0);  // two gradients of the 8 x 512 concatenation
  // Everything but the parameters and the fixed workspace scales with the batch.
  const MemoryEstimate e3 = estimateTrainingMemory(n, {8, 8, 8}, 3, o);
  EXPECT_DOUBLE_EQ(e3.activations, 3 * e.activations);
  EXPECT_DOUBLE_EQ(e3.loss, 3 * e.loss);
  EXPECT_DOUBLE_EQ(e3.parameters, e.parameters);
}

TEST(MemoryModel, ResEncKeepsMoreThanPlainAtTheSamePatch) {
  const ExperimentPlan plain = planExperiment(datasets()[2].fp, 1, 2, optionsFor(PlanPreset::Plain, 8));
  NetworkSpec resenc = plain.network;
  resenc.name = "resenc_unet";
  resenc.encoderBlocks = {1, 3, 4, 6, 6, 6};
  resenc.encoderBlocks.resize(resenc.features.size(), 6);
  resenc.decoderConvs = 1;
  const MemoryEstimate a = estimateTrainingMemory(plain.network, plain.patchSize, 2);
  const MemoryEstimate b = estimateTrainingMemory(resenc, plain.patchSize, 2);
  EXPECT_GT(b.parameterCount, 2 * a.parameterCount);
  EXPECT_GT(b.total(), a.total());
}

TEST(NnunetFingerprint, ReadsSpacingsAndShapesInXyzOrder) {
  test::TempDir dir;
  const std::string path = dir.path() + "/dataset_fingerprint.json";
  std::ofstream(path) << R"({"spacings": [[5.0, 0.7, 0.8], [3.0, 0.7, 0.8]],
    "shapes_after_crop": [[40, 300, 320], [60, 310, 330]],
    "foreground_intensity_properties_per_channel": {"0": {}, "1": {}}})";
  const DatasetFingerprint fp = loadNnunetFingerprint(path);
  ASSERT_EQ(fp.cases.size(), 2u);
  EXPECT_EQ(fp.cases[0].spacing, (std::array<double, 3>{0.8, 0.7, 5.0}));  // nnU-Net z, y, x -> x, y, z
  EXPECT_EQ(fp.cases[1].size, (Triple{330, 310, 60}));
  EXPECT_EQ(fp.intensity.size(), 2u);
  std::ofstream(dir.path() + "/bad.json") << R"({"spacings": []})";
  EXPECT_THROW(loadNnunetFingerprint(dir.path() + "/bad.json"), InputError);
  EXPECT_THROW(loadNnunetFingerprint(dir.path() + "/missing.json"), InputError);
}

}  // namespace
}  // namespace seg
