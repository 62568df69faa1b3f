#pragma once
// Dice / Jaccard loss with MONAI's semantics and defaults (monai/losses/dice.py,
// DiceLoss): labels are one-hot encoded, optional background exclusion, per-class
// f = 1 - (2 tp + smooth_nr) / (sum_p + sum_g + smooth_dr), reduced by mean/sum/none.
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "losses/DiceStatistics.h"
#include "losses/LossTerms.h"

namespace seg {

struct DiceLossOptions {
  TORCH_ARG(bool, include_background) = true;
  TORCH_ARG(Activation, activation) = Activation::Softmax;
  TORCH_ARG(bool, squared_pred) = false;
  TORCH_ARG(bool, jaccard) = false;
  // Sum the statistics over the batch before the ratio (one Dice per class).
  TORCH_ARG(bool, batch) = false;
  TORCH_ARG(double, smooth_nr) = 1e-5;
  TORCH_ARG(double, smooth_dr) = 1e-5;
  // Per-class weights over the classes the loss sees (after background exclusion).
  // Ignored when the loss sees one class (MONAI: `num_of_classes != 1`).
  TORCH_ARG(std::vector<double>, class_weights) = {};
  TORCH_ARG(Reduction, reduction) = Reduction::Mean;
};

// Statistics of logits (B, C, ...) against labels: activation, one-hot, background
// exclusion, sums. Channel 0 is dropped when include_background is false and C > 1.
// `mask` (B, 1, spatial...), 0/1, undefined = all voxels: masked voxels add nothing to
// the statistics (computeStatistics); labels there must still be valid (e.g. 0).
DiceStatistics diceStatistics(const torch::Tensor& logits, const torch::Tensor& labels,
                              const DiceLossOptions& options, const torch::Tensor& mask = {});

// The reduction half: per-class loss from (possibly globally reduced) statistics,
// weighted and reduced. Shape (B, C) or (C) before reduction.
torch::Tensor diceFromStatistics(const DiceStatistics& stats, const DiceLossOptions& options);

// Both halves, for reducing several evaluations' statistics at once (losses/LossTerms.h).
LossTerms diceTerms(const torch::Tensor& logits, const torch::Tensor& labels, const DiceLossOptions& options,
                    const torch::Tensor& mask = {});

torch::Tensor diceLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                       const DiceLossOptions& options, const StatisticsReducer& reducer = {},
                       const torch::Tensor& mask = {});

class DiceLossImpl : public torch::nn::Module {
 public:
  explicit DiceLossImpl(DiceLossOptions options = {});
  torch::Tensor forward(const torch::Tensor& logits, const torch::Tensor& labels);
  void reset() {}
  void setReducer(StatisticsReducer reducer) { reducer_ = std::move(reducer); }
  const DiceLossOptions& options() const { return options_; }

 private:
  DiceLossOptions options_;
  StatisticsReducer reducer_;
};
TORCH_MODULE(DiceLoss);

}  // namespace seg
