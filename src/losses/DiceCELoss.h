#pragma once
// lambda_dice * Dice + lambda_ce * CE, as MONAI 1.5's DiceCELoss: the CE term works on
// the raw logits and all channels whatever include_background and the activation
// say; softmax CE for C > 1 (class weights, PyTorch's weighted mean), BCE-with-logits
// for one channel (the one class weight is BCE's pos_weight, as MONAI). Class weights
// cover all C classes; the Dice term gets weights[1:] when it excludes the background
// (MONAI's dice_weight). `binary_ce`: the CE term is a BCE-with-logits per channel
// against float (B, C, ...) targets (multi-label regions, nnU-Net's DC_and_BCE_loss).
// A loss mask (B, 1, ...) restricts both terms to the kept voxels (losses/DiceStatistics.h,
// losses/CrossEntropyLoss.h).
#include <torch/arg.h>

#include "losses/CrossEntropyLoss.h"
#include "losses/DiceLoss.h"

namespace seg {

struct DiceCELossOptions {
  TORCH_ARG(DiceLossOptions, dice) = {};
  TORCH_ARG(double, lambda_dice) = 1.0;
  TORCH_ARG(double, lambda_ce) = 1.0;
  TORCH_ARG(std::vector<double>, class_weights) = {};  // all C classes; empty = none
  TORCH_ARG(bool, binary_ce) = false;
};

// Both halves: the Dice statistics, and lambda_ce * CE as the rank-local term.
// With a mask, the CE is a masked mean reduced with the statistics (losses/LossTerms.h).
LossTerms diceCETerms(const torch::Tensor& logits, const torch::Tensor& labels, const DiceCELossOptions& options,
                      const torch::Tensor& mask = {});

torch::Tensor diceCELoss(const torch::Tensor& logits, const torch::Tensor& labels,
                         const DiceCELossOptions& options, const StatisticsReducer& reducer = {},
                         const torch::Tensor& mask = {});

}  // namespace seg
