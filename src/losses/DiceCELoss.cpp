#include "losses/DiceCELoss.h"

#include <torch/torch.h>

namespace seg {

LossTerms diceCETerms(const torch::Tensor& logits, const torch::Tensor& labels, const DiceCELossOptions& options,
                      const torch::Tensor& mask) {
  TORCH_CHECK(options.dice().reduction() == Reduction::Mean, "DiceCELoss: the Dice term must use mean reduction");
  auto diceOptions = options.dice();
  const auto& w = options.class_weights();
  if (!w.empty()) {
    TORCH_CHECK(static_cast<int64_t>(w.size()) == logits.size(1), "DiceCELoss: ", w.size(),
                " class weights given for ", logits.size(1), " classes (logits ", logits.sizes(),
                "); weights cover all classes, background included");
    for (double v : w) TORCH_CHECK(v >= 0, "DiceCELoss: class weights must be >= 0, got ", v);
    diceOptions.class_weights(!diceOptions.include_background() && logits.size(1) > 1
                                  ? std::vector<double>(w.begin() + 1, w.end())
                                  : w);
  }
  TORCH_CHECK(options.lambda_dice() != 0.0 || options.lambda_ce() != 0.0,
              "DiceCELoss: lambda_dice and lambda_ce are both 0");
  LossTerms terms;
  if (options.lambda_dice() != 0.0) {
    terms.stats = diceStatistics(logits, labels, diceOptions, mask);
    terms.fromStatistics = [diceOptions, lambda = options.lambda_dice()](const DiceStatistics& stats) {
      return lambda * diceFromStatistics(stats, diceOptions);
    };
  }
  if (options.lambda_ce() != 0.0) {
    const auto ce = CrossEntropyLossOptions().class_weights(w).binary(options.binary_ce());
    if (mask.defined()) {
      terms.masked = crossEntropySums(logits, labels, ce, mask, "DiceCELoss");
      terms.masked.weight = options.lambda_ce();
    } else {
      terms.local = options.lambda_ce() * crossEntropyTerm(logits, labels, ce, "DiceCELoss");
    }
  }
  return terms;
}

torch::Tensor diceCELoss(const torch::Tensor& logits, const torch::Tensor& labels,
                         const DiceCELossOptions& options, const StatisticsReducer& reducer, const torch::Tensor& mask) {
  return lossOf(diceCETerms(logits, labels, options, mask), reducer);
}

}  // namespace seg
