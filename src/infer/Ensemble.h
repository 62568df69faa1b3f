#pragma once
// Ensembles for sliding-window inference: a Network whose output is the mean of its members'
// probabilities (softmax over the channels, or sigmoid per channel), tile batch by tile batch.
// slidingWindowInference then blends averaged probabilities with the Gaussian weights, so it
// holds one (K, Z, Y, X) accumulator whatever the number of members.
//
// What the blended result is: at a voxel x, sum_t w_t(x) P_t(x) / sum_t w_t(x) with
// P_t = (1/M) sum_m P_{m,t} a convex combination of probability vectors, hence itself one
// (channels sum to 1 for softmax, each in [0, 1] for sigmoid): decide with
// labelsFromScores(..., probabilities = true). Because the blending is linear with the same
// tiles and weights for every member, it equals (1/M) sum_m blend(P_m): the mean of the members'
// probability-blended volumes. Mirror TTA on top averages the network's output over the 8 flips,
// i.e. the mean over (member, flip) of probabilities.
//
// nnU-Net (nnunetv2/inference/predict_from_raw_data.py, predict_logits_from_preprocessed_data)
// instead sums each fold's blended LOGITS and divides by the number of folds, taking softmax once
// at the end; MONAI's ensembles (monai/transforms/post/array.py MeanEnsemble) average the members'
// post-activation outputs, as we do here. docs/evaluation.md, "Ensembles".
#include <torch/types.h>

#include <vector>

#include "infer/SlidingWindow.h"

namespace seg {

// (B, K, Z, Y, X) logits -> probabilities over dim 1 (softmax) or per channel (sigmoid), fp32.
torch::Tensor batchProbabilities(const torch::Tensor& logits, bool sigmoid);

// A Network returning (1/M) sum_m batchProbabilities(member_m(x), sigmoid). Safe to call from
// several threads when every member is.
Network averagedProbabilities(std::vector<Network> members, bool sigmoid);

}  // namespace seg
