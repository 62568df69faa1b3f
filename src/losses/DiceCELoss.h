#pragma once
// lambda_dice * Dice + lambda_ce * CE, as MONAI 1.5's DiceCELoss: the CE term works on
// the raw logits and all channels whatever include_background and the activation
// say; softmax CE for C > 1 (class weights, PyTorch's weighted mean), BCE-with-logits
// for one channel (the one class weight is BCE's pos_weight, as MONAI). Class weights
// cover all C classes; the Dice term gets weights[1:] when it excludes the background
// (MONAI's dice_weight).
#include <torch/arg.h>

#include "losses/CrossEntropyLoss.h"
#include "losses/DiceLoss.h"

namespace seg {

struct DiceCELossOptions {
  TORCH_ARG(DiceLossOptions, dice) = {};
  TORCH_ARG(double, lambda_dice) = 1.0;
  TORCH_ARG(double, lambda_ce) = 1.0;
  TORCH_ARG(std::vector<double>, class_weights) = {};  // all C classes; empty = none
};

// Both halves: the Dice statistics, and lambda_ce * CE as the rank-local term.
LossTerms diceCETerms(const torch::Tensor& logits, const torch::Tensor& labels, const DiceCELossOptions& options);

torch::Tensor diceCELoss(const torch::Tensor& logits, const torch::Tensor& labels,
                         const DiceCELossOptions& options, const StatisticsReducer& reducer = {});

}  // namespace seg
