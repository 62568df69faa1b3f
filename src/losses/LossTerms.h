#pragma once
// A loss in its two halves (design.md section 5), so that the Dice statistics of several
// evaluations (the deep-supervision levels of one step) are reduced across ranks together:
// one collective per step, however many levels, where nnU-Net v2 issues three all_gathers
// per level (nnunetv2/training/loss/dice.py, MemoryEfficientSoftDiceLoss under ddp).
#include <torch/types.h>

#include <functional>
#include <vector>

#include "losses/DiceStatistics.h"

namespace seg {

// A mean over the voxels a loss mask keeps (CE with an ignore label), as two sums of shape
// (1): the per-element loss summed over kept voxels (with gradient) and their, possibly
// class-weighted, count (no gradient). The term is weight * sum / max(count, 1e-8): 0 when
// every voxel is masked (nnU-Net's torch.clip(mask.sum(), min=1e-8)). Both sums are reduced
// with the Dice statistics, in the same collective, so that W ranks give the mean over the
// voxels of the whole global batch, as one process does (a rank-local mean would weight
// ranks equally however many voxels each keeps).
struct MaskedMean {
  torch::Tensor sum;
  torch::Tensor count;
  double weight = 1.0;
  bool defined() const { return sum.defined(); }
  torch::Tensor value() const;  // weight * sum / max(count, 1e-8), unreduced
};

struct LossTerms {
  // The Dice-family statistics of this evaluation, rank-local; tp undefined when the loss
  // has no Dice term (plain CE).
  DiceStatistics stats;
  // Their half of the loss, applied to the (possibly reduced) statistics, weighted
  // (e.g. lambda_dice * Dice). Set when stats are.
  std::function<torch::Tensor(const DiceStatistics&)> fromStatistics;
  // Terms that need no reduction (CE: a rank-local mean), weighted; may be undefined.
  torch::Tensor local;
  // A masked mean (CE with a loss mask), reduced with the statistics; may be undefined.
  MaskedMean masked;
};

using LossTermsFn = std::function<LossTerms(const torch::Tensor& logits, const torch::Tensor& labels)>;

// sum_i weights[i] * (fromStatistics_i(R_i) + local_i + masked_i), where R_i are the
// statistics of evaluation i after ONE call of `reducer` on all evaluations' statistics of the
// same rank concatenated along the class axis (the last one), split back: one call for the
// (C) statistics and masked means together, one for (B, C) statistics (which a distributed
// reducer leaves rank-local). Summing concatenated
// statistics is element-wise the same as summing each, so the loss and its gradient equal
// those of one reduction per evaluation. An empty reducer leaves the statistics as they are.
torch::Tensor combineLossTerms(const std::vector<LossTerms>& evaluations, const std::vector<double>& weights,
                               const StatisticsReducer& reducer);

// One evaluation with weight 1: the loss of `terms` and `reducer` as a plain function.
torch::Tensor lossOf(const LossTerms& terms, const StatisticsReducer& reducer);

}  // namespace seg
