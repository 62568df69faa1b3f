#include "losses/DiceCELoss.h"

#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

namespace seg {

namespace F = torch::nn::functional;

torch::Tensor crossEntropyTerm(const torch::Tensor& logits, const torch::Tensor& labels,
                               const std::vector<double>& classWeights) {
  const auto x = logits.to(statisticsType(logits));
  TORCH_CHECK(x.dim() >= 3 && labels.dim() == x.dim() && labels.size(0) == x.size(0) &&
                  labels.sizes().slice(2) == x.sizes().slice(2),
              "DiceCELoss: logits ", logits.sizes(), " and labels ", labels.sizes(), " differ in size");
  const int64_t channels = x.size(1);
  if (!classWeights.empty()) {
    TORCH_CHECK(static_cast<int64_t>(classWeights.size()) == channels, "DiceCELoss: ", classWeights.size(),
                " class weights given for ", channels, " classes (logits ", logits.sizes(), ")");
  }
  checkLabelRange(labels, channels, "DiceCELoss");
  if (channels == 1) {
    TORCH_CHECK(labels.size(1) == 1, "DiceCELoss: one-channel logits ", logits.sizes(), " need one-channel labels, got ",
                labels.sizes());
    // MONAI passes the weight to BCEWithLogitsLoss as pos_weight.
    auto options = F::BinaryCrossEntropyWithLogitsFuncOptions();
    if (!classWeights.empty()) options.pos_weight(torch::tensor(classWeights, x.options()));
    return F::binary_cross_entropy_with_logits(x, labels.to(x.scalar_type()), options);
  }
  auto options = F::CrossEntropyFuncOptions();
  if (!classWeights.empty()) options.weight(torch::tensor(classWeights, x.options()));
  if (labels.is_floating_point() && labels.size(1) == channels) {
    // Class-probability targets (one-hot): PyTorch averages over voxels.
    return F::cross_entropy(x, labels.to(x.scalar_type()), options);
  }
  TORCH_CHECK(labels.size(1) == 1, "DiceCELoss: labels ", labels.sizes(), " must have one channel (class indices) or ",
              channels, " float channels");
  return F::cross_entropy(x, labels.to(torch::kLong).squeeze(1), options);
}

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
