#pragma once
// A ready training config from an ExperimentPlan (`segdata plan --write-config`): the plan's
// spacing, patch, batch and topology, plus nnU-Net's trainer defaults (nnUNetTrainer: SGD
// lr 1e-2 Nesterov momentum 0.99, weight decay 3e-5, poly 0.9, 1000 epochs x 250 iterations,
// Dice+CE without background, deep supervision, 33% foreground patches, grad clip 12, mixed
// precision). docs/planning.md lists every key it sets.
#include <string>
#include <vector>

#include "config/TrainConfig.h"
#include "data/ExperimentPlan.h"

namespace seg {

// nnU-Net's trainer defaults on top of TrainConfig's defaults, with no dataset and no
// topology (configs/nnunet_3d_fullres.yaml and configs/resenc_l.yaml are these plus a plan).
TrainConfig nnunetTrainerDefaults();

// The defaults above, the plan's data/model/batch keys, data.root = dataRoot, and
// data.normalization = ct when a channel is named CT (nnU-Net's get_normalization_scheme),
// zscore otherwise.
TrainConfig configFromPlan(const ExperimentPlan& plan, const std::string& dataRoot,
                           const std::vector<std::string>& channelNames = {});

// toYaml of configFromPlan with a header comment saying where it came from (dataset, preset,
// target, estimate). Writes `path` (temporary name, then rename); errors name the file.
void writePlanConfig(const ExperimentPlan& plan, const std::string& dataRoot,
                     const std::vector<std::string>& channelNames, const std::string& path);

// The memory model's view of a config's network (the factory's defaults: strides empty =
// 1,1,1 then 2,2,2; kernels 3; resenc blocks 1,3,4,6,6,...; decoder convs 0 = auto).
NetworkSpec networkFromConfig(const ModelConfig& model, int64_t inChannels, int64_t numClasses);

}  // namespace seg
