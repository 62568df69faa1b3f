#pragma once
// Cross-entropy on logits, the baseline beside the Dice family (loss.name: ce), with
// PyTorch's semantics: softmax cross-entropy over all C channels for C > 1 (mean over
// voxels; with class weights, PyTorch's weighted mean sum(w_y * l) / sum(w_y)), and
// BCE-with-logits for one channel, whose single class weight is BCE's pos_weight (as
// MONAI's DiceCELoss passes it). This is the CE term of Dice+CE (losses/DiceCELoss.h).
// `binary` makes every channel a BCE-with-logits against a float/binary target
// (multi-label: nnU-Net's region training, DC_and_BCE_loss), class weights then being the
// per-channel pos_weight.
// With a loss mask (B, 1, spatial...) the mean runs over the kept voxels only: softmax CE
// as PyTorch's ignore_index (weighted: sum(m w_y l) / sum(m w_y); nnU-Net's
// RobustCrossEntropyLoss), BCE as sum(m l) / (C sum(m)), the mean over kept elements. (nnU-Net's
// DC_and_BCE_loss divides by sum(m) alone, C times our value for C regions; ours equals the
// unmasked BCE on the kept voxels, as every masked loss here equals its unmasked self on the
// annotated subset.) All voxels masked gives 0, not NaN.
// Statistics in fp32 even under autocast (float64 logits stay float64).
#include <torch/arg.h>
#include <torch/types.h>

#include <vector>

#include "losses/LossTerms.h"

namespace seg {

struct CrossEntropyLossOptions {
  TORCH_ARG(std::vector<double>, class_weights) = {};  // all C classes (background included); empty = none
  // BCE-with-logits per channel against (B, C, ...) float targets, also for C > 1.
  TORCH_ARG(bool, binary) = false;
};

// The masked mean's two sums (losses/LossTerms.h), for `mask` (B, 1, spatial...) 0/1.
MaskedMean crossEntropySums(const torch::Tensor& logits, const torch::Tensor& labels,
                            const CrossEntropyLossOptions& options, const torch::Tensor& mask,
                            const char* component = "CrossEntropyLoss");

// labels: class indices (B, 1, spatial...) or, for C > 1, float class probabilities
// (B, C, spatial...). Errors (c10::Error) start with `component`. With a mask, the
// rank-local value of the masked mean.
torch::Tensor crossEntropyTerm(const torch::Tensor& logits, const torch::Tensor& labels,
                               const CrossEntropyLossOptions& options, const char* component,
                               const torch::Tensor& mask = {});
torch::Tensor crossEntropyTerm(const torch::Tensor& logits, const torch::Tensor& labels,
                               const std::vector<double>& classWeights, const char* component = "DiceCELoss");

// The CE as loss terms: rank-local mean without a mask, a masked mean (reduced with the
// statistics) with one.
LossTerms crossEntropyTerms(const torch::Tensor& logits, const torch::Tensor& labels,
                            const CrossEntropyLossOptions& options = {}, const torch::Tensor& mask = {});

torch::Tensor crossEntropyLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                               const CrossEntropyLossOptions& options = {}, const torch::Tensor& mask = {});

}  // namespace seg
