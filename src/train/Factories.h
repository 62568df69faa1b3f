#pragma once
// Composition root: maps the typed config onto the options structs of the parts
// (model, loss, optimiser, schedule). The parts themselves never see the config.
#include <torch/optim/optimizer.h>

#include <memory>

#include "config/TrainConfig.h"
#include "losses/DiceStatistics.h"
#include "models/UNet.h"
#include "train/LrSchedule.h"
#include "train/Trainer.h"

namespace seg {

UNetOptions makeUNetOptions(const ModelConfig& model, int64_t inChannels, int64_t numClasses);
LossFn makeLoss(const LossConfig& loss, const StatisticsReducer& reducer = {});
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const OptimizerConfig& optimizer, UNet& model);
LrScheduleOptions makeSchedule(const TrainSection& train);
torch::Device resolveDevice(const std::string& device);  // cpu | cuda | auto; InputError if cuda is missing

}  // namespace seg
