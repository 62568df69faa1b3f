#pragma once
// Cross-entropy on logits, the baseline beside the Dice family (loss.name: ce), with
// PyTorch's semantics: softmax cross-entropy over all C channels for C > 1 (mean over
// voxels; with class weights, PyTorch's weighted mean sum(w_y * l) / sum(w_y)), and
// BCE-with-logits for one channel, whose single class weight is BCE's pos_weight (as
// MONAI's DiceCELoss passes it). This is the CE term of Dice+CE (losses/DiceCELoss.h).
// Statistics in fp32 even under autocast (float64 logits stay float64).
#include <torch/arg.h>
#include <torch/types.h>

#include <vector>

namespace seg {

struct CrossEntropyLossOptions {
  TORCH_ARG(std::vector<double>, class_weights) = {};  // all C classes (background included); empty = none
};

// labels: class indices (B, 1, spatial...) or, for C > 1, float class probabilities
// (B, C, spatial...). Errors (c10::Error) start with `component`.
torch::Tensor crossEntropyTerm(const torch::Tensor& logits, const torch::Tensor& labels,
                               const std::vector<double>& classWeights, const char* component = "DiceCELoss");

torch::Tensor crossEntropyLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                               const CrossEntropyLossOptions& options = {});

}  // namespace seg
