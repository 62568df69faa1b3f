// Mean |dL/dlogit| of the foreground logit on foreground voxels, for CE and the Dice
// family, at 50%, 10% and 1% foreground: the "seed's gradient table" of docs/losses.md.
// CE's per-voxel gradient does not depend on how much foreground there is (1/N per
// voxel), Dice's grows as the foreground shrinks: that is why Dice helps tiny lesions
// and why Dice+CE is the usual compromise.
//
// Setup: one 2-class volume of 32^3 voxels, the first round(f * N) voxels (flat order)
// are foreground. Two predictions: logits all 0 (p = 0.5 everywhere, an untrained
// network) and logits +-3 toward the target (p = 0.95 right everywhere, a network that
// has mostly learnt the task).
// Run: build/bench/seg_gradient_table
#include <torch/torch.h>

#include <cstdio>
#include <functional>

#include "losses/DiceCELoss.h"
#include "losses/DiceLoss.h"

int main() {
  using namespace seg;
  const int64_t side = 32, voxels = side * side * side;
  struct Loss {
    const char* name;
    std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> fn;
  };
  const auto noBg = DiceLossOptions().include_background(false);
  const std::vector<Loss> losses = {
      {"CE", [](const auto& x, const auto& y) { return crossEntropyTerm(x, y, {}); }},
      {"Dice (include_background=true)", [](const auto& x, const auto& y) { return diceLoss(x, y, DiceLossOptions()); }},
      {"Dice (include_background=false)", [noBg](const auto& x, const auto& y) { return diceLoss(x, y, noBg); }},
      {"Dice+CE (include_background=false)",
       [noBg](const auto& x, const auto& y) { return diceCELoss(x, y, DiceCELossOptions().dice(noBg)); }},
  };
  const std::vector<double> fractions{0.5, 0.1, 0.01};
  for (double margin : {0.0, 3.0}) {
    std::printf("\nlogits %s: mean |dL/dz_fg| over foreground voxels (32^3 voxels, 2 classes)\n\n",
                margin == 0.0 ? "0 (p = 0.5)" : "+-3 toward the target (p = 0.95 right)");
    std::printf("| loss | 50%% foreground | 10%% foreground | 1%% foreground |\n|---|---|---|---|\n");
    for (const auto& loss : losses) {
      std::printf("| %s |", loss.name);
      for (double f : fractions) {
        const int64_t positives = static_cast<int64_t>(f * voxels + 0.5);
        auto labels = torch::zeros({voxels}, torch::kInt64);
        labels.slice(0, 0, positives).fill_(1);
        labels = labels.reshape({1, 1, side, side, side});
        // Class-1 logit +margin/2 on foreground, -margin/2 elsewhere; class 0 the opposite.
        const auto sign = labels.to(torch::kFloat32) * 2 - 1;
        auto logits = torch::cat({-sign, sign}, 1).mul(margin / 2).requires_grad_(true);
        loss.fn(logits, labels).backward();
        const auto fg = labels.squeeze(1) == 1;
        const double mean = logits.grad().select(1, 1).masked_select(fg).abs().mean().item<double>();
        std::printf(" %.3e |", mean);
      }
      std::printf("\n");
    }
  }
  return 0;
}
