#include "losses/DiceStatistics.h"

#include <torch/nn/functional/activation.h>
#include <torch/torch.h>

namespace seg {

torch::Tensor applyReduction(const torch::Tensor& f, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return f.mean();
    case Reduction::Sum: return f.sum();
    case Reduction::None: return f;
  }
  return f;
}

torch::Tensor activate(const torch::Tensor& logits, Activation activation) {
  // Statistics stay fp32 under autocast: cast before the activation.
  const auto x = logits.to(torch::kFloat32);
  if (activation == Activation::Sigmoid) return torch::sigmoid(x);
  // MONAI warns and skips softmax for a single channel; a softmax over one channel
  // is the constant 1, which would make the loss meaningless.
  TORCH_CHECK(x.size(1) > 1, "softmax over a single channel is constant; use sigmoid for one output channel");
  return torch::softmax(x, 1);
}

torch::Tensor prepareTarget(const torch::Tensor& labels, int64_t numChannels, const char* who) {
  TORCH_CHECK(labels.dim() >= 3, who, ": labels must be (B, 1, spatial...) or (B, C, spatial...), got ",
              labels.sizes());
  if (labels.is_floating_point() && labels.size(1) == numChannels && numChannels > 1) {
    return labels.to(torch::kFloat32);
  }
  TORCH_CHECK(labels.size(1) == 1, who, ": integer labels must have one channel, got ", labels.sizes());
  if (numChannels == 1) return labels.to(torch::kFloat32);
  auto idx = labels.to(torch::kLong).squeeze(1);
  TORCH_CHECK(idx.numel() == 0 || idx.max().item<int64_t>() < numChannels, who, ": label value ",
              idx.max().item<int64_t>(), " is out of range for ", numChannels, " channels");
  // one_hot appends the class axis last: move it to dim 1.
  auto onehot = torch::one_hot(idx, numChannels).to(torch::kFloat32);
  return onehot.movedim(-1, 1).contiguous();
}

DiceStatistics computeStatistics(const torch::Tensor& probs, const torch::Tensor& target,
                                 bool squared, bool batch) {
  TORCH_CHECK(probs.sizes() == target.sizes(), "Dice statistics: prediction ", probs.sizes(),
              " and target ", target.sizes(), " differ in size");
  std::vector<int64_t> axes;
  if (batch) axes.push_back(0);
  for (int64_t d = 2; d < probs.dim(); ++d) axes.push_back(d);
  DiceStatistics s;
  s.tp = (probs * target).sum(axes);
  s.sumP = squared ? (probs * probs).sum(axes) : probs.sum(axes);
  s.sumG = squared ? (target * target).sum(axes) : target.sum(axes);
  return s;
}

}  // namespace seg
