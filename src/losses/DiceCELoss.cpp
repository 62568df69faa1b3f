#include "losses/DiceCELoss.h"

#include <torch/torch.h>

namespace seg {

torch::Tensor diceCELoss(const torch::Tensor& logits, const torch::Tensor& labels,
                         const DiceCELossOptions& options, const StatisticsReducer& reducer) {
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
  torch::Tensor total;
  if (options.lambda_dice() != 0.0) total = options.lambda_dice() * diceLoss(logits, labels, diceOptions, reducer);
  if (options.lambda_ce() != 0.0) {
    auto ce = options.lambda_ce() * crossEntropyTerm(logits, labels, w);
    total = total.defined() ? total + ce : ce;
  }
  TORCH_CHECK(total.defined(), "DiceCELoss: lambda_dice and lambda_ce are both 0");
  return total;
}

}  // namespace seg
