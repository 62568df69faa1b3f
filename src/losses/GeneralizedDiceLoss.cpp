#include "losses/GeneralizedDiceLoss.h"

#include <torch/torch.h>

namespace seg {

torch::Tensor generalizedDiceFromStatistics(const DiceStatistics& stats,
                                            const GeneralizedDiceLossOptions& options) {
  torch::Tensor w;
  switch (options.w_type()) {
    case GdlWeight::Square: w = torch::reciprocal(stats.sumG * stats.sumG); break;
    case GdlWeight::Simple: w = torch::reciprocal(stats.sumG); break;
    case GdlWeight::Uniform: w = torch::ones_like(stats.sumG); break;
  }
  // Weights are constants of the ground truth: no gradient flows through them.
  w = w.detach();
  const auto infs = torch::isinf(w);
  w = torch::where(infs, torch::zeros_like(w), w);
  // Replace infinite weights by the largest finite one of the same sample (or of the
  // whole batch when the statistics were summed over it).
  const auto maxW = w.dim() == 1 ? w.max() : std::get<0>(w.max(-1, /*keepdim=*/true));
  w = w + infs.to(w.scalar_type()) * maxW;
  const auto numer = 2.0 * (stats.tp * w).sum(-1) + options.smooth_nr();
  const auto denom = ((stats.sumP + stats.sumG) * w).sum(-1) + options.smooth_dr();
  return applyReduction(1.0 - numer / denom, options.reduction());
}

LossTerms generalizedDiceTerms(const torch::Tensor& logits, const torch::Tensor& labels,
                               const GeneralizedDiceLossOptions& options, const torch::Tensor& mask) {
  const auto diceOptions = DiceLossOptions()
                               .include_background(options.include_background())
                               .activation(options.activation())
                               .batch(options.batch());
  LossTerms terms;
  terms.stats = diceStatistics(logits, labels, diceOptions, mask);
  terms.fromStatistics = [options](const DiceStatistics& stats) {
    return generalizedDiceFromStatistics(stats, options);
  };
  return terms;
}

torch::Tensor generalizedDiceLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                                  const GeneralizedDiceLossOptions& options,
                                  const StatisticsReducer& reducer, const torch::Tensor& mask) {
  return lossOf(generalizedDiceTerms(logits, labels, options, mask), reducer);
}

}  // namespace seg
