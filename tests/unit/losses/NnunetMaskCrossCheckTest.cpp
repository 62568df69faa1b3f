// Our Dice+CE with the ignore label (softmax classes) and Dice+BCE on BraTS regions with
// the ignore label against nnU-Net v2's own DC_and_CE_loss / DC_and_BCE_loss
// (NnunetMaskReference.h, scripts/reference/nnunet_mask_reference.py): loss and every
// element of d loss / d logits. Two documented differences are accounted for: nnU-Net's
// Dice term is -mean(dc) where ours is 1 - mean(dc) (values differ by exactly 1), and
// nnU-Net's masked BCE is C times ours (ours runs with lambda_ce = C here).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "losses/DiceCELoss.h"
#include "losses/LabelTargets.h"
#include "unit/losses/NnunetMaskReference.h"
#include "support/TorchTest.h"

namespace seg {
namespace {

constexpr int64_t kB = 2;
const std::vector<int64_t> kSpatial{3, 4, 5};

// The script's closed-form inputs.
torch::Tensor logitsFor(int64_t c) {
  const int64_t n = kB * c * 60;
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = 2.5 * std::sin(0.37 * i + 0.11 * c);
  return torch::tensor(v, torch::kFloat64).reshape({kB, c, 3, 4, 5});
}

torch::Tensor labels() {
  std::vector<int64_t> v(kB * 60);
  for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<int64_t>(((j * 2654435761ull) % (1ull << 32)) >> 7) % 5;
  return torch::tensor(v, torch::kInt64).reshape({kB, 1, 3, 4, 5});
}

LabelEncoding encoding(bool regions) {
  LabelEncoding e;
  e.ignoreLabel = 4;
  if (regions) {
    e.regions = {{1, 2, 3}, {2, 3}, {3}};
    e.regionNames = {"whole tumor", "tumor core", "enhancing tumor"};
    e.regionsClassOrder = {1, 2, 3};
  }
  return e;
}

class NnunetMaskCrossCheck : public ::testing::TestWithParam<nnunet_mask::Case> {};

TEST_P(NnunetMaskCrossCheck, LossAndGradientMatchNnunet) {
  const auto& c = GetParam();
  const LabelTargets t = labelTargets(labels(), encoding(c.regions));
  // nnU-Net's trainer: softmax classes without background; regions with every channel.
  auto dice = DiceLossOptions().batch(c.batchDice).smooth_nr(1e-5).smooth_dr(1e-5);
  dice.include_background(c.regions).activation(c.regions ? Activation::Sigmoid : Activation::Softmax);
  const auto options = DiceCELossOptions().dice(dice).binary_ce(c.regions).lambda_ce(c.regions ? c.channels : 1.0);
  auto x = logitsFor(c.channels).requires_grad_(true);
  const auto loss = diceCELoss(x, t.target, options, {}, t.mask);
  loss.backward();
  // Regions: nnU-Net casts the targets to float32 (target_regions.float()) before its BCE.
  // Classes: nnU-Net's MemoryEfficientSoftDiceLoss returns its Dice as float32 even for
  // float64 logits (checked in the venv: dtype float32), so the values agree to float32
  // round-off (1e-8 .. 4e-8) while the gradients agree to 1e-12.
  const double tolerance = c.regions ? 1e-6 : 1e-7;
  EXPECT_NEAR(loss.item<double>() - 1.0, c.loss, tolerance) << c.name;
  const auto expected = torch::tensor(c.grad, torch::kFloat64).reshape(x.sizes());
  test::expectTensorClose(x.grad(), expected, c.regions ? 1e-8 : 1e-12, 1e-6, c.name);
}

INSTANTIATE_TEST_SUITE_P(Nnunet, NnunetMaskCrossCheck, ::testing::ValuesIn(nnunet_mask::cases()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace seg
