#include "losses/CrossEntropyLoss.h"

#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include "losses/DiceStatistics.h"

namespace seg {

namespace F = torch::nn::functional;

torch::Tensor crossEntropyTerm(const torch::Tensor& logits, const torch::Tensor& labels,
                               const std::vector<double>& classWeights, const char* component) {
  const auto x = logits.to(statisticsType(logits));
  TORCH_CHECK(x.dim() >= 3 && labels.dim() == x.dim() && labels.size(0) == x.size(0) &&
                  labels.sizes().slice(2) == x.sizes().slice(2),
              component, ": logits ", logits.sizes(), " and labels ", labels.sizes(), " differ in size");
  const int64_t channels = x.size(1);
  if (!classWeights.empty()) {
    TORCH_CHECK(static_cast<int64_t>(classWeights.size()) == channels, component, ": ", classWeights.size(),
                " class weights given for ", channels, " classes (logits ", logits.sizes(),
                "); weights cover all classes, background included");
    for (double v : classWeights) TORCH_CHECK(v >= 0, component, ": class weights must be >= 0, got ", v);
  }
  checkLabelRange(labels, channels, component);
  if (channels == 1) {
    TORCH_CHECK(labels.size(1) == 1, component, ": one-channel logits ", logits.sizes(), " need one-channel labels, got ",
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
  TORCH_CHECK(labels.size(1) == 1, component, ": labels ", labels.sizes(), " must have one channel (class indices) or ",
              channels, " float channels");
  return F::cross_entropy(x, labels.to(torch::kLong).squeeze(1), options);
}

torch::Tensor crossEntropyLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                               const CrossEntropyLossOptions& options) {
  return crossEntropyTerm(logits, labels, options.class_weights(), "CrossEntropyLoss");
}

}  // namespace seg
