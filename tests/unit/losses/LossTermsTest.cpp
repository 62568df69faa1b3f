// combineLossTerms: the statistics of several evaluations reduced in one call give the
// loss of one reduction per evaluation (the per-evaluation loss functions are the
// reference), with the reducer called once on the statistics concatenated per class.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "losses/DiceCELoss.h"
#include "losses/DiceLoss.h"
#include "losses/GeneralizedDiceLoss.h"
#include "losses/LossTerms.h"
#include "support/TorchTest.h"

namespace seg {
namespace {

// Stands in for the all-reduce: changes every statistic, so a skipped or misrouted
// reduction shows in the loss.
DiceStatistics scaled(const DiceStatistics& s) { return {s.tp * 1.5 + 0.25, s.sumP * 2.0 + 1.0, s.sumG * 3.0 + 0.5}; }

struct Inputs {
  torch::Tensor logits, labels;
};

Inputs inputs(int64_t classes, int64_t edge, uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({2, classes, edge, edge, edge}, torch::kFloat64),
          torch::randint(0, classes, {2, 1, edge, edge, edge}, torch::kInt64)};
}

class LossTermsTest : public ::testing::TestWithParam<bool> {};

TEST_P(LossTermsTest, OneReductionOfAllEvaluationsEqualsOneReductionEach) {
  const bool batch = GetParam();
  // Three evaluations of different class counts and losses (statistics widths 3, 2, 4).
  const Inputs a = inputs(3, 8, 1), b = inputs(3, 4, 2), c = inputs(4, 6, 3);
  const auto dice = DiceLossOptions().batch(batch);
  const auto diceCE = DiceCELossOptions().dice(DiceLossOptions().batch(batch).include_background(false)).lambda_ce(0.7);
  const auto gdl = GeneralizedDiceLossOptions().batch(batch);
  const std::vector<double> weights{0.5, 0.25, 1.0};

  int calls = 0;
  std::vector<int64_t> widths;
  const StatisticsReducer counting = [&](const DiceStatistics& s) {
    ++calls;
    widths.push_back(s.tp.size(-1));
    return scaled(s);
  };
  const auto combined = combineLossTerms(
      {diceTerms(a.logits, a.labels, dice), diceCETerms(b.logits, b.labels, diceCE), generalizedDiceTerms(c.logits, c.labels, gdl)},
      weights, counting);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(widths, std::vector<int64_t>{3 + 2 + 4});

  const auto expected = weights[0] * diceLoss(a.logits, a.labels, dice, scaled) +
                        weights[1] * diceCELoss(b.logits, b.labels, diceCE, scaled) +
                        weights[2] * generalizedDiceLoss(c.logits, c.labels, gdl, scaled);
  test::expectTensorClose(combined, expected, 1e-12, 1e-12, "combined");
  // Without the reduction the value differs: the check above can fail.
  const auto unreduced = weights[0] * diceLoss(a.logits, a.labels, dice) +
                         weights[1] * diceCELoss(b.logits, b.labels, diceCE) +
                         weights[2] * generalizedDiceLoss(c.logits, c.labels, gdl);
  EXPECT_GT(std::abs((combined - unreduced).item<double>()), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Statistics, LossTermsTest, ::testing::Values(true, false),
                         [](const auto& info) { return std::string(info.param ? "batch" : "per_sample"); });

TEST(LossTermsTest, LocalTermsAreNotReduced) {
  const Inputs a = inputs(2, 4, 4);
  int calls = 0;
  const StatisticsReducer counting = [&](const DiceStatistics& s) {
    ++calls;
    return s;
  };
  LossTerms ce;
  ce.local = torch::full({}, 2.0, torch::kFloat64);
  const auto value = combineLossTerms({ce, ce}, {0.5, 0.25}, counting);
  EXPECT_EQ(calls, 0);
  EXPECT_DOUBLE_EQ(value.item<double>(), 1.5);
  // Dice + CE with only the CE half: the statistics are absent, CE alone remains.
  const auto ceOnly = DiceCELossOptions().lambda_dice(0.0);
  EXPECT_FALSE(diceCETerms(a.logits, a.labels, ceOnly).stats.tp.defined());
}

TEST(LossTermsTest, MismatchedWeightsAreRefused) {
  LossTerms ce;
  ce.local = torch::ones({});
  EXPECT_THROW(combineLossTerms({ce}, {1.0, 1.0}, {}), c10::Error);
  EXPECT_THROW(combineLossTerms({}, {}, {}), c10::Error);
}

}  // namespace
}  // namespace seg
