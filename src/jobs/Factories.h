#pragma once
// Composition root: maps the typed config onto the options structs of the parts
// (model, loss, optimiser, schedule). The parts themselves never see the config.
#include <torch/optim/optimizer.h>

#include <memory>

#include "config/TrainConfig.h"
#include "core/LabelEncoding.h"
#include "losses/DiceStatistics.h"
#include "losses/LossTerms.h"
#include "models/UNet.h"
#include "train/LrSchedule.h"
#include "train/Trainer.h"

namespace seg {

UNetOptions makeUNetOptions(const ModelConfig& model, int64_t inChannels, int64_t numClasses);
// The configured loss in its two halves (losses/LossTerms.h), what the trainer uses. The
// integer labels it gets (per deep-supervision level) become targets and a loss mask per
// `labels` (losses/LabelTargets.h): with regions one sigmoid channel per region (all of
// them foreground: loss.include_background does not apply) and BCE as the CE term; with an
// ignore label, ignored voxels add nothing to any term.
LossTermsFn makeLossTerms(const LossConfig& loss, const LabelEncoding& labels = {});
// The same as one function, the statistics going through `reducer`.
LossFn makeLoss(const LossConfig& loss, const StatisticsReducer& reducer = {}, const LabelEncoding& labels = {});
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const OptimizerConfig& optimizer, UNet& model);
LrScheduleOptions makeSchedule(const TrainSection& train);
// cpu | cuda | auto: auto is the first GPU when one is visible, else the CPU. cuda without a
// visible GPU is an InputError naming `key` (the option the user set) and why there is none.
torch::Device resolveDevice(const std::string& device, const std::string& key = "train.device");

}  // namespace seg
