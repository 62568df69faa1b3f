#pragma once
// Deep supervision as nnU-Net (nnunetv2 DeepSupervisionWrapper and
// nnUNetTrainer._build_loss): the network returns logits at every decoder level,
// highest resolution first; level i gets weight 1/2^i, the lowest-resolution level
// gets 0, and the weights are normalised to sum 1. For 4 levels: 8/14, 4/14, 2/14, 0.
// Targets are downsampled to each level's size by nearest neighbour (nnU-Net's
// DownsampleSegForDSTransform, order 0), so labels stay labels.
#include <torch/arg.h>
#include <torch/types.h>

#include <functional>
#include <vector>

#include "losses/LossTerms.h"

namespace seg {

using LevelLoss = std::function<torch::Tensor(const torch::Tensor& logits, const torch::Tensor& labels)>;

// nnU-Net's weights for `levels` outputs. One level gives {1}.
std::vector<double> deepSupervisionWeights(int64_t levels);

// labels (B, K, Z, Y, X) (integer or float) resized by nearest neighbour to `size`
// (Z, Y, X); unchanged when the size already matches.
torch::Tensor downsampleLabels(const torch::Tensor& labels, at::IntArrayRef size);

// sum_i w_i * loss(outputs[i], labels resized to outputs[i]); levels with weight 0 are
// not evaluated. `weights` empty = deepSupervisionWeights(outputs.size()).
torch::Tensor deepSupervisionLoss(const std::vector<torch::Tensor>& outputs, const torch::Tensor& labels,
                                  const LevelLoss& loss, std::vector<double> weights = {});

// The same sum for a loss in its two halves: the Dice statistics of all evaluated levels
// go through `reducer` in one call (one collective per step under data parallelism,
// losses/LossTerms.h), with the same value and gradient as one reduction per level.
torch::Tensor deepSupervisionLoss(const std::vector<torch::Tensor>& outputs, const torch::Tensor& labels,
                                  const LossTermsFn& terms, const StatisticsReducer& reducer,
                                  std::vector<double> weights = {});

}  // namespace seg
