#pragma once
// Planning to a GPU-memory target, as nnU-Net v2's ExperimentPlanner and its ResEnc
// presets do (nnunetv2/experiment_planning/experiment_planners/default_experiment_planner.py
// get_plans_for_configuration, residual_unets/residual_encoder_unet_planners.py,
// network_topology.py get_pool_and_conv_props), with a memory model of our own in place
// of nnU-Net's calibrated feature-map sum. docs/planning.md gives the rules, the memory
// formula and its assumptions, and the differences to nnU-Net's plans.
//
// Axis order: every per-axis value here is x, y, z (like data.patch_size and
// model.strides). Where nnU-Net breaks ties by axis position, the planner uses nnU-Net's
// own axis order (array z, y, x, the largest-spacing axis moved first) so the same
// fingerprint gives the same choice.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/Fingerprint.h"

namespace seg {

using Triple = std::array<int64_t, 3>;

// nnU-Net's get_pool_and_conv_props: pooling per stage and axis until the feature map
// edge would drop below 2 x minFeatureMapSize (an axis alone pools only while it is at
// least 3 x), pooling only axes within a factor 2 of the finest current spacing, 3x3x3
// kernels except 1 on axes whose spacing is still more than twice the finest, the patch
// padded up to a multiple of 2^pools per axis.
struct Topology {
  Triple poolsPerAxis{};       // number of stride-2 stages per axis
  std::vector<Triple> strides;  // per stage; stage 0 is 1,1,1
  std::vector<Triple> kernels;  // per stage; the last (bottleneck) is 3,3,3
  Triple patchSize{};          // the input patch padded to `divisor`
  Triple divisor{};            // 2^poolsPerAxis
};
Topology poolAndConvProps(const std::array<double, 3>& spacing, const Triple& patchSize,
                          int64_t minFeatureMapSize = 4, int64_t maxPoolsPerAxis = 999999);
// The same on a fractional patch: nnU-Net's planner clips the initial patch to the median
// shape, a half-integer for an even number of cases, and pads that value
// (pad_shape: x + d - x mod d, truncated).
Topology poolAndConvPropsFractional(const std::array<double, 3>& spacing, const std::array<double, 3>& patchSize,
                                    int64_t minFeatureMapSize = 4, int64_t maxPoolsPerAxis = 999999);

// plain: nnU-Net's 3d_fullres PlainConvUNet (2 convs per encoder and decoder stage, 5% of
// the dataset per batch at most). resenc_m|l|xl: ResidualEncoderUNet with 1,3,4,6,6,...
// residual blocks per encoder stage and 1 conv per decoder stage; nnU-Net's M/L/XL targets
// are 8, 24 and 40 GB and their batch may cover the whole dataset.
enum class PlanPreset { Plain, ResEncM, ResEncL, ResEncXL };
// "plain" | "resenc_m" | "resenc_l" | "resenc_xl"; anything else is an InputError listing them.
PlanPreset parsePlanPreset(const std::string& name);
std::string presetName(PlanPreset preset);
double presetMemoryGb(PlanPreset preset);  // 8, 8, 24, 40

// What the memory model needs to know about a network (model.* of the config).
struct NetworkSpec {
  std::string name = "unet";     // unet | resenc_unet
  int64_t inChannels = 1;
  int64_t numClasses = 2;        // softmax outputs, background included
  std::vector<int64_t> features;
  std::vector<Triple> strides;   // per stage, x y z
  std::vector<Triple> kernels;   // per stage, x y z
  std::vector<int64_t> encoderBlocks;  // unet: convs per stage; resenc_unet: residual blocks
  int64_t decoderConvs = 2;      // convs per decoder stage
  bool deepSupervision = true;
};

// The memory model (docs/planning.md, "Memory model"): bytes the training step holds at its
// peak, which is the end of the forward pass, when every tensor autograd keeps for the
// backward pass is alive, plus the parameters and optimiser state, plus a workspace for the
// first backward kernels and convolution scratch space.
struct MemoryModelOptions {
  int64_t activationBytes = 2;   // element size of activations: 2 under bf16/fp16 autocast, 4 fp32
  int64_t lossBytes = 4;         // softmax / log-softmax / one-hot of the loss (fp32 under autocast)
  int64_t labelBytes = 8;        // integer labels (int64)
  // Bytes per parameter: fp32 weight + fp32 gradient + SGD momentum (12), plus the
  // autocast cache of each weight in the activation dtype (2 when activationBytes == 2).
  bool autocastWeightCopies = true;
  // Gradient maps in flight at the start of the backward pass, in units of the largest
  // activation map (the gradient of a conv output and of its input).
  double backwardMaps = 2.0;
  // Convolution scratch space (cuDNN workspace, oneDNN reorders), fixed.
  double convWorkspaceBytes = 256.0 * 1024 * 1024;
};

struct MemoryEstimate {
  double activations = 0;  // saved for backward by the network, batch included
  double loss = 0;         // inputs, labels and what the loss keeps, all deep-supervision levels
  double parameters = 0;   // weights, gradients, momentum, autocast weight copies
  double workspace = 0;    // backward gradient maps + convolution scratch
  int64_t parameterCount = 0;
  double total() const { return activations + loss + parameters + workspace; }
};
MemoryEstimate estimateTrainingMemory(const NetworkSpec& network, const Triple& patchSize, int64_t batchSize,
                                      const MemoryModelOptions& options = {});

struct ExperimentPlanOptions {
  PlanPreset preset = PlanPreset::Plain;
  double gpuMemoryGb = 8;        // the target: GiB the GPU has for this run
  // Of the target, what the estimate may fill: the rest is the CUDA context, cuDNN/cuBLAS
  // handles and the caching allocator's rounding and fragmentation (docs/planning.md).
  double usableFraction = 0.85;
  double contextGb = 0.5;        // CUDA context and library handles, outside the allocator
  MemoryModelOptions memory;
  int64_t minBatch = 2;
  double maxDatasetShare = -1;   // < 0: the preset's (plain 0.05, ResEnc 1.0, as nnU-Net)
  int64_t baseFeatures = 32;
  int64_t maxFeatures = 320;
  int64_t minFeatureMapSize = 4;
};

struct ExperimentPlan {
  PlanPreset preset = PlanPreset::Plain;
  double gpuMemoryGb = 0;
  double budgetBytes = 0;        // what the estimate had to fit
  std::array<double, 3> spacing{};
  std::array<double, 3> medianShape{};  // median case shape at `spacing`, x y z
  Triple patchSize{};
  int64_t batchSize = 2;
  NetworkSpec network;
  MemoryEstimate estimate;       // at patchSize and batchSize
  // nnU-Net uses batch Dice for 3d_fullres when it also plans a 3d_lowres configuration
  // (the patch covers under a quarter of the median shape), plain Dice otherwise.
  bool batchDice = false;
};

// The plan for one configuration at a spacing (get_plans_for_configuration): `medianShape`
// at that spacing, `datasetVoxels` the dataset's voxel count at that spacing.
ExperimentPlan planConfiguration(const std::array<double, 3>& spacing, const std::array<double, 3>& medianShape,
                                 double datasetVoxels, int64_t inChannels, int64_t numClasses,
                                 const ExperimentPlanOptions& options);

// The 3d_fullres plan of a dataset: target spacing (medianTargetSpacing), median shape after
// resampling (nnU-Net's compute_new_shape per case), the configuration, and batch Dice from
// nnU-Net's 3d_lowres rule. Bad options (target too small for the smallest network, ...) are
// InputErrors saying which.
ExperimentPlan planExperiment(const DatasetFingerprint& fingerprint, int64_t inChannels, int64_t numClasses,
                              const ExperimentPlanOptions& options);

}  // namespace seg
