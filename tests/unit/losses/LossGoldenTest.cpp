// Dice-family losses against an independent float64 PyTorch implementation of
// MONAI's semantics (scripts/reference/loss_reference.py -> LossGolden.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>

#include "losses/CrossEntropyLoss.h"
#include "losses/DiceCELoss.h"
#include "losses/DiceLoss.h"
#include "losses/GeneralizedDiceLoss.h"
#include "unit/losses/LossGolden.h"

namespace seg {
namespace {

using golden::LossCase;

// The same closed-form inputs as loss_reference.py's make_inputs.
std::pair<torch::Tensor, torch::Tensor> makeInputs(const LossCase& c) {
  const int64_t spatial = int64_t{c.z} * c.y * c.x;
  const auto i = torch::arange(c.b * c.c * spatial, torch::kFloat64);
  auto logits = (2.5 * torch::sin(0.37 * i + 0.11 * c.c)).to(torch::kFloat32).reshape({c.b, c.c, c.z, c.y, c.x});
  auto labels = torch::empty({c.b * spatial}, torch::kInt64);
  const uint64_t classes = std::max(c.c, 2);
  for (int64_t j = 0; j < c.b * spatial; ++j) {
    const uint64_t h = (static_cast<uint64_t>(j) * 2654435761ull) & 0xFFFFFFFFull;
    labels[j] = static_cast<int64_t>((h >> 7) % classes);
  }
  labels = labels.reshape({c.b, 1, c.z, c.y, c.x});
  if (c.absent >= 0) {
    auto first = labels[0];
    first.masked_fill_(first == c.absent, 0);
  }
  return {logits, labels};
}

torch::Tensor computeLoss(const LossCase& c, const torch::Tensor& logits, const torch::Tensor& labels) {
  const Activation act = std::strcmp(c.activation, "sigmoid") == 0 ? Activation::Sigmoid : Activation::Softmax;
  auto dice = DiceLossOptions()
                  .include_background(c.includeBackground)
                  .activation(act)
                  .squared_pred(c.squared)
                  .jaccard(c.jaccard)
                  .batch(c.batch)
                  .reduction(c.sumReduction ? Reduction::Sum : Reduction::Mean);
  if (std::strcmp(c.loss, "dice") == 0) {
    dice.class_weights(c.weights);
    return diceLoss(logits, labels, dice);
  }
  if (std::strcmp(c.loss, "ce") == 0) return crossEntropyLoss(logits, labels, CrossEntropyLossOptions().class_weights(c.weights));
  if (std::strcmp(c.loss, "dice_ce") == 0) {
    return diceCELoss(logits, labels,
                      DiceCELossOptions().dice(dice).lambda_dice(c.lambdaDice).lambda_ce(c.lambdaCe).class_weights(c.weights));
  }
  const GdlWeight w = std::strcmp(c.wType, "simple") == 0    ? GdlWeight::Simple
                      : std::strcmp(c.wType, "uniform") == 0 ? GdlWeight::Uniform
                                                             : GdlWeight::Square;
  return generalizedDiceLoss(
      logits, labels,
      GeneralizedDiceLossOptions().include_background(c.includeBackground).activation(act).w_type(w).batch(c.batch));
}

class LossGoldenTest : public ::testing::TestWithParam<LossCase> {};

TEST_P(LossGoldenTest, MatchesReferenceValueAndGradient) {
  const LossCase& c = GetParam();
  auto [logits, labels] = makeInputs(c);
  logits.requires_grad_(true);
  const auto loss = computeLoss(c, logits, labels);
  EXPECT_EQ(loss.scalar_type(), torch::kFloat32) << "statistics must be accumulated in fp32";
  EXPECT_NEAR(loss.item<double>(), c.expectedLoss, 2e-6 * std::max(1.0, std::abs(c.expectedLoss)));
  loss.backward();
  const auto probe = torch::cos(0.7 * torch::arange(logits.numel(), torch::kFloat64)).reshape(logits.sizes());
  const double checksum = (logits.grad().to(torch::kFloat64) * probe).sum().item<double>();
  EXPECT_NEAR(checksum, c.expectedGradChecksum, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Reference, LossGoldenTest, ::testing::ValuesIn(golden::lossCases()),
                         [](const ::testing::TestParamInfo<LossCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace seg
