#include "losses/DeepSupervisionLoss.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/torch.h>

namespace seg {

std::vector<double> deepSupervisionWeights(int64_t levels) {
  TORCH_CHECK(levels >= 1, "deep supervision: need at least one output, got ", levels);
  if (levels == 1) return {1.0};
  std::vector<double> w(levels);
  double sum = 0.0;
  for (int64_t i = 0; i < levels; ++i) {
    w[i] = i + 1 == levels ? 0.0 : 1.0 / static_cast<double>(int64_t{1} << i);
    sum += w[i];
  }
  for (double& v : w) v /= sum;
  return w;
}

torch::Tensor downsampleLabels(const torch::Tensor& labels, at::IntArrayRef size) {
  TORCH_CHECK(labels.dim() == static_cast<int64_t>(size.size()) + 2, "deep supervision: labels ", labels.sizes(),
              " do not match an output of spatial size ", size);
  if (labels.sizes().slice(2) == size) return labels;
  for (size_t a = 0; a < size.size(); ++a) {
    TORCH_CHECK(size[a] <= labels.size(a + 2), "deep supervision: output spatial size ", size,
                " is larger than the labels ", labels.sizes());
  }
  // interpolate has no integer kernels: go through float (exact for label values < 2^24).
  namespace F = torch::nn::functional;
  const auto resized = F::interpolate(labels.to(torch::kFloat32),
                                      F::InterpolateFuncOptions().size(size.vec()).mode(torch::kNearest));
  return resized.to(labels.scalar_type());
}

namespace {
std::vector<double> checkedWeights(const std::vector<torch::Tensor>& outputs, std::vector<double> weights) {
  TORCH_CHECK(!outputs.empty(), "deep supervision: no outputs");
  if (weights.empty()) weights = deepSupervisionWeights(static_cast<int64_t>(outputs.size()));
  TORCH_CHECK(weights.size() == outputs.size(), "deep supervision: ", weights.size(), " weights given for ",
              outputs.size(), " outputs");
  bool any = false;
  for (double w : weights) any = any || w != 0.0;
  TORCH_CHECK(any, "deep supervision: all weights are 0");
  return weights;
}
}  // namespace

torch::Tensor deepSupervisionLoss(const std::vector<torch::Tensor>& outputs, const torch::Tensor& labels,
                                  const LevelLoss& loss, std::vector<double> weights) {
  weights = checkedWeights(outputs, std::move(weights));
  torch::Tensor total;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (weights[i] == 0.0) continue;
    auto term = weights[i] * loss(outputs[i], downsampleLabels(labels, outputs[i].sizes().slice(2)));
    total = total.defined() ? total + term : term;
  }
  return total;
}

torch::Tensor deepSupervisionLoss(const std::vector<torch::Tensor>& outputs, const torch::Tensor& labels,
                                  const LossTermsFn& terms, const StatisticsReducer& reducer,
                                  std::vector<double> weights) {
  weights = checkedWeights(outputs, std::move(weights));
  std::vector<LossTerms> evaluated;
  std::vector<double> used;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (weights[i] == 0.0) continue;  // nnU-Net's lowest level: not evaluated at all
    evaluated.push_back(terms(outputs[i], downsampleLabels(labels, outputs[i].sizes().slice(2))));
    used.push_back(weights[i]);
  }
  return combineLossTerms(evaluated, used, reducer);
}

}  // namespace seg
