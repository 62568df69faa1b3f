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

c10::ScalarType statisticsType(const torch::Tensor& logits) {
  return logits.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

void checkLabelRange(const torch::Tensor& labels, int64_t numChannels, const char* who) {
  if (labels.is_floating_point() || labels.numel() == 0) return;
  // One sigmoid channel takes a binary map; otherwise labels index the C channels.
  const int64_t limit = numChannels == 1 ? 2 : numChannels;
  // One device-to-host copy for both ends of the range (one sync on CUDA).
  const auto range = torch::stack({labels.min(), labels.max()}).to(torch::kCPU, torch::kLong);
  const int64_t lo = range[0].item<int64_t>();
  const int64_t hi = range[1].item<int64_t>();
  TORCH_CHECK(lo >= 0 && hi < limit, who, ": label value ", lo < 0 ? lo : hi, " is out of range for ", numChannels,
              numChannels == 1 ? " channel (one sigmoid channel expects labels 0 and 1)"
                               : " channels (labels must be 0 .. C-1; is the dataset's class count right?)");
}

torch::Tensor activate(const torch::Tensor& logits, Activation activation) {
  // Statistics stay fp32 under autocast: cast before the activation. float64 input
  // stays float64 (double-precision gradient checks).
  const auto x = logits.to(statisticsType(logits));
  if (activation == Activation::Sigmoid) return torch::sigmoid(x);
  // MONAI warns and skips softmax for a single channel; a softmax over one channel
  // is the constant 1, which would make the loss meaningless.
  TORCH_CHECK(x.size(1) > 1, "softmax over a single channel is constant (logits ", logits.sizes(),
              "); use sigmoid for one output channel");
  return torch::softmax(x, 1);
}

torch::Tensor prepareTarget(const torch::Tensor& labels, int64_t numChannels, const char* who) {
  TORCH_CHECK(labels.dim() >= 3, who, ": labels must be (B, 1, spatial...) or (B, C, spatial...), got ",
              labels.sizes());
  if (labels.is_floating_point() && labels.size(1) == numChannels && numChannels > 1) {
    return labels.to(torch::kFloat32);
  }
  TORCH_CHECK(labels.size(1) == 1, who, ": labels ", labels.sizes(), " must have one channel (class indices) or ",
              numChannels, " float channels (one-hot / probabilities)");
  checkLabelRange(labels, numChannels, who);
  if (numChannels == 1) return labels.to(torch::kFloat32);
  auto idx = labels.to(torch::kLong).squeeze(1);
  // one_hot appends the class axis last: move it to dim 1.
  auto onehot = torch::one_hot(idx, numChannels).to(torch::kFloat32);
  return onehot.movedim(-1, 1).contiguous();
}

void checkMask(const torch::Tensor& mask, const torch::Tensor& like, const char* who) {
  if (!mask.defined()) return;
  TORCH_CHECK(mask.dim() == like.dim() && mask.size(0) == like.size(0) && mask.size(1) == 1 &&
                  mask.sizes().slice(2) == like.sizes().slice(2),
              who, ": loss mask ", mask.sizes(), " must be (B, 1, spatial...) of ", like.sizes());
}

DiceStatistics computeStatistics(const torch::Tensor& probs, const torch::Tensor& target,
                                 bool squared, bool batch, const torch::Tensor& mask) {
  TORCH_CHECK(probs.sizes() == target.sizes(), "Dice statistics: prediction ", probs.sizes(),
              " and target ", target.sizes(), " differ in size");
  checkMask(mask, probs, "Dice statistics");
  std::vector<int64_t> axes;
  if (batch) axes.push_back(0);
  for (int64_t d = 2; d < probs.dim(); ++d) axes.push_back(d);
  auto p = probs;
  auto g = target;
  if (mask.defined()) {
    // A 0/1 mask: (p m)^2 = p^2 m, so squaring after masking equals masking the squares.
    const auto m = mask.to(probs.scalar_type());
    p = p * m;
    g = g * m;
  }
  DiceStatistics s;
  s.tp = (p * g).sum(axes);
  s.sumP = squared ? (p * p).sum(axes) : p.sum(axes);
  s.sumG = squared ? (g * g).sum(axes) : g.sum(axes);
  return s;
}

}  // namespace seg
