#include "losses/DiceLoss.h"

#include <torch/torch.h>

namespace seg {

DiceStatistics diceStatistics(const torch::Tensor& logits, const torch::Tensor& labels,
                              const DiceLossOptions& options, const torch::Tensor& mask) {
  TORCH_CHECK(logits.dim() >= 3, "DiceLoss: logits must be (B, C, spatial...), got ", logits.sizes());
  TORCH_CHECK(labels.dim() == logits.dim() && labels.size(0) == logits.size(0) &&
                  labels.sizes().slice(2) == logits.sizes().slice(2),
              "DiceLoss: logits ", logits.sizes(), " and labels ", labels.sizes(), " differ in size");
  auto probs = activate(logits, options.activation());
  auto target = prepareTarget(labels, logits.size(1), "DiceLoss").to(probs.scalar_type());
  // MONAI drops channel 0 after the activation, so the softmax still spans all classes.
  if (!options.include_background() && probs.size(1) > 1) {
    probs = probs.slice(1, 1);
    target = target.slice(1, 1);
  }
  checkMask(mask, logits, "DiceLoss");
  return computeStatistics(probs, target, options.squared_pred(), options.batch(), mask);
}

torch::Tensor diceFromStatistics(const DiceStatistics& stats, const DiceLossOptions& options) {
  auto denominator = stats.sumP + stats.sumG;
  if (options.jaccard()) denominator = 2.0 * (denominator - stats.tp);
  auto f = 1.0 - (2.0 * stats.tp + options.smooth_nr()) / (denominator + options.smooth_dr());
  const auto& w = options.class_weights();
  // MONAI applies class weights only when the loss sees more than one class (after
  // background exclusion); with one class the weight is ignored.
  if (!w.empty() && f.size(-1) != 1) {
    const int64_t classes = f.size(-1);
    TORCH_CHECK(static_cast<int64_t>(w.size()) == classes, "DiceLoss: ", w.size(), " class weights given for ",
                classes, " classes (after background exclusion when include_background is false)");
    f = f * torch::tensor(w, f.options());
  }
  return applyReduction(f, options.reduction());
}

LossTerms diceTerms(const torch::Tensor& logits, const torch::Tensor& labels, const DiceLossOptions& options,
                    const torch::Tensor& mask) {
  LossTerms terms;
  terms.stats = diceStatistics(logits, labels, options, mask);
  terms.fromStatistics = [options](const DiceStatistics& stats) { return diceFromStatistics(stats, options); };
  return terms;
}

torch::Tensor diceLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                       const DiceLossOptions& options, const StatisticsReducer& reducer, const torch::Tensor& mask) {
  return lossOf(diceTerms(logits, labels, options, mask), reducer);
}

DiceLossImpl::DiceLossImpl(DiceLossOptions options) : options_(std::move(options)) {
  TORCH_CHECK(options_.smooth_nr() >= 0 && options_.smooth_dr() >= 0, "DiceLoss: smoothing terms must be >= 0");
  for (double w : options_.class_weights()) TORCH_CHECK(w >= 0, "DiceLoss: class weights must be >= 0");
}

torch::Tensor DiceLossImpl::forward(const torch::Tensor& logits, const torch::Tensor& labels) {
  return diceLoss(logits, labels, options_, reducer_);
}

}  // namespace seg
