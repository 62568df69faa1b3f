#pragma once
// Generalized Dice (Sudre et al. 2017) with MONAI's semantics
// (monai/losses/dice.py, GeneralizedDiceLoss): w_c = 1/sum_g^2 (square), 1/sum_g
// (simple) or 1 (uniform); infinite weights (absent classes) are replaced by the
// largest finite weight, per sample, or over the batch when `batch`; all classes
// absent gives weights 0.
//   L = 1 - (2 sum_c w_c tp_c + smooth_nr) / (sum_c w_c (sum_p_c + sum_g_c) + smooth_dr)
#include <torch/arg.h>

#include "losses/DiceLoss.h"

namespace seg {

enum class GdlWeight { Square, Simple, Uniform };

struct GeneralizedDiceLossOptions {
  TORCH_ARG(bool, include_background) = true;
  TORCH_ARG(Activation, activation) = Activation::Softmax;
  TORCH_ARG(GdlWeight, w_type) = GdlWeight::Square;
  TORCH_ARG(bool, batch) = false;
  TORCH_ARG(double, smooth_nr) = 1e-5;
  TORCH_ARG(double, smooth_dr) = 1e-5;
  TORCH_ARG(Reduction, reduction) = Reduction::Mean;
};

// Loss from (possibly globally reduced) statistics of shape (B, C) or (C).
torch::Tensor generalizedDiceFromStatistics(const DiceStatistics& stats,
                                            const GeneralizedDiceLossOptions& options);

// Both halves, for reducing several evaluations' statistics at once (losses/LossTerms.h).
// `mask` (B, 1, ...): masked voxels add nothing to the statistics (so neither to the weights).
LossTerms generalizedDiceTerms(const torch::Tensor& logits, const torch::Tensor& labels,
                               const GeneralizedDiceLossOptions& options, const torch::Tensor& mask = {});

torch::Tensor generalizedDiceLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                                  const GeneralizedDiceLossOptions& options,
                                  const StatisticsReducer& reducer = {}, const torch::Tensor& mask = {});

}  // namespace seg
