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

struct LossTerms {
  // The Dice-family statistics of this evaluation, rank-local; tp undefined when the loss
  // has no Dice term (plain CE).
  DiceStatistics stats;
  // Their half of the loss, applied to the (possibly reduced) statistics, weighted
  // (e.g. lambda_dice * Dice). Set when stats are.
  std::function<torch::Tensor(const DiceStatistics&)> fromStatistics;
  // Terms that need no reduction (CE: a rank-local mean), weighted; may be undefined.
  torch::Tensor local;
};

using LossTermsFn = std::function<LossTerms(const torch::Tensor& logits, const torch::Tensor& labels)>;

// sum_i weights[i] * (fromStatistics_i(R_i) + local_i), where R_i are the statistics of
// evaluation i after ONE call of `reducer` on all evaluations' statistics concatenated along
// the class axis (the last one; (C) or (B, C) alike), split back. Summing concatenated
// statistics is element-wise the same as summing each, so the loss and its gradient equal
// those of one reduction per evaluation. An empty reducer leaves the statistics as they are.
torch::Tensor combineLossTerms(const std::vector<LossTerms>& evaluations, const std::vector<double>& weights,
                               const StatisticsReducer& reducer);

// One evaluation with weight 1: the loss of `terms` and `reducer` as a plain function.
torch::Tensor lossOf(const LossTerms& terms, const StatisticsReducer& reducer);

}  // namespace seg
