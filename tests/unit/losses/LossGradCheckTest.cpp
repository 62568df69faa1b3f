// Finite-difference gradient checks in double precision for every loss and option
// family, plus the edge cases that break naive implementations (empty target, all
// background, a one-voxel lesion, one sigmoid channel, batch statistics). The losses
// keep float64 logits in float64 (statisticsType), so central differences with
// eps = 1e-6 are accurate to ~1e-9 and the check can be tight (PyTorch gradcheck's
// defaults: atol 1e-5, rtol 1e-3).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "losses/DeepSupervisionLoss.h"
#include "losses/DiceCELoss.h"
#include "losses/DiceLoss.h"
#include "losses/GeneralizedDiceLoss.h"

namespace seg {
namespace {

using LossOf = std::function<torch::Tensor(const torch::Tensor& logits)>;

// Largest violation of |analytic - numeric| <= atol + rtol * |numeric| (<= 0 passes).
double gradcheck(const LossOf& loss, const torch::Tensor& point) {
  constexpr double eps = 1e-6, atol = 1e-5, rtol = 1e-3;
  auto x = point.detach().clone().requires_grad_(true);
  const auto value = loss(x);
  EXPECT_EQ(value.scalar_type(), torch::kFloat64) << "float64 logits must give a float64 loss";
  value.backward();
  const auto analytic = x.grad().reshape({-1});
  const auto base = point.detach().reshape({-1});
  double worst = -1.0;
  torch::NoGradGuard noGrad;
  for (int64_t i = 0; i < base.numel(); ++i) {
    auto plus = base.clone(), minus = base.clone();
    plus[i] += eps;
    minus[i] -= eps;
    const double numeric = (loss(plus.reshape(point.sizes())).item<double>() -
                            loss(minus.reshape(point.sizes())).item<double>()) / (2 * eps);
    const double a = analytic[i].item<double>();
    worst = std::max(worst, std::abs(a - numeric) - (atol + rtol * std::abs(numeric)));
  }
  return worst;
}

torch::Tensor logitsOf(std::vector<int64_t> shape, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn(shape, torch::kFloat64);
}

torch::Tensor labelsOf(std::vector<int64_t> shape, int64_t classes, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randint(0, classes, shape, torch::kInt64);
}

struct GradCase {
  const char* name;
  std::vector<int64_t> logitShape;
  std::function<torch::Tensor()> labels;
  std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> loss;
};

const std::vector<int64_t> kShape{2, 3, 3, 2, 2};
torch::Tensor randomLabels() { return labelsOf({2, 1, 3, 2, 2}, 3, 7); }
torch::Tensor allBackground() { return torch::zeros({2, 1, 3, 2, 2}, torch::kInt64); }
torch::Tensor oneVoxelLesion() {
  auto l = torch::zeros({2, 1, 3, 2, 2}, torch::kInt64);
  l[0][0][1][1][0] = 1;
  return l;
}
torch::Tensor binaryLabels() { return labelsOf({2, 1, 3, 2, 2}, 2, 11); }

template <typename Options>
std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> dice(Options o) {
  return [o](const torch::Tensor& x, const torch::Tensor& y) {
    if constexpr (std::is_same_v<Options, DiceLossOptions>) {
      // Reduction::None: project onto fixed weights to get a scalar.
      auto f = diceLoss(x, y, o);
      return o.reduction() == Reduction::None ? (f * torch::linspace(0.5, 1.5, f.numel(), f.options()).reshape(f.sizes())).sum() : f;
    } else if constexpr (std::is_same_v<Options, DiceCELossOptions>) {
      return diceCELoss(x, y, o);
    } else {
      return generalizedDiceLoss(x, y, o);
    }
  };
}

const auto sig = Activation::Sigmoid;

const std::vector<GradCase>& cases() {
  static const std::vector<GradCase> all = {
      {"DiceDefault", kShape, randomLabels, dice(DiceLossOptions())},
      {"DiceNoBackground", kShape, randomLabels, dice(DiceLossOptions().include_background(false))},
      {"DiceSquaredPred", kShape, randomLabels, dice(DiceLossOptions().squared_pred(true))},
      {"DiceJaccard", kShape, randomLabels, dice(DiceLossOptions().jaccard(true))},
      {"DiceBatch", kShape, randomLabels, dice(DiceLossOptions().batch(true))},
      {"DiceClassWeights", kShape, randomLabels, dice(DiceLossOptions().class_weights({0.2, 1.0, 3.0}))},
      {"DiceSum", kShape, randomLabels, dice(DiceLossOptions().reduction(Reduction::Sum))},
      {"DiceNone", kShape, randomLabels, dice(DiceLossOptions().reduction(Reduction::None))},
      {"DiceSigmoidMultiLabel", kShape, randomLabels, dice(DiceLossOptions().activation(sig))},
      {"DiceSigmoidOneChannel", {2, 1, 3, 2, 2}, binaryLabels, dice(DiceLossOptions().activation(sig))},
      {"DiceSigmoidOneChannelBatch", {2, 1, 3, 2, 2}, binaryLabels, dice(DiceLossOptions().activation(sig).batch(true))},
      {"DiceEmptyTargetSigmoid", {2, 1, 3, 2, 2}, allBackground, dice(DiceLossOptions().activation(sig))},
      {"DiceAllBackgroundNoBackground", kShape, allBackground, dice(DiceLossOptions().include_background(false))},
      {"DiceOneVoxelLesion", kShape, oneVoxelLesion, dice(DiceLossOptions().include_background(false))},
      {"DiceOneVoxelLesionBatch", kShape, oneVoxelLesion, dice(DiceLossOptions().include_background(false).batch(true))},
      {"DiceCEDefault", kShape, randomLabels, dice(DiceCELossOptions())},
      {"DiceCEWeightsNoBackground", kShape, randomLabels,
       dice(DiceCELossOptions().dice(DiceLossOptions().include_background(false)).class_weights({0.5, 1.0, 2.0}).lambda_ce(0.3))},
      {"DiceCEOneChannelPosWeight", {2, 1, 3, 2, 2}, binaryLabels,
       dice(DiceCELossOptions().dice(DiceLossOptions().activation(sig)).class_weights({2.0}))},
      {"DiceCEOneHotTarget", kShape, [] { return torch::one_hot(randomLabels().squeeze(1), 3).movedim(-1, 1).to(torch::kFloat64); },
       dice(DiceCELossOptions())},
      {"DiceCEEmptyTarget", kShape, allBackground, dice(DiceCELossOptions().dice(DiceLossOptions().include_background(false)))},
      {"GdlSquare", kShape, randomLabels, dice(GeneralizedDiceLossOptions())},
      {"GdlSimpleBatch", kShape, randomLabels, dice(GeneralizedDiceLossOptions().w_type(GdlWeight::Simple).batch(true))},
      {"GdlUniform", kShape, randomLabels, dice(GeneralizedDiceLossOptions().w_type(GdlWeight::Uniform))},
      {"GdlSigmoid", kShape, randomLabels, dice(GeneralizedDiceLossOptions().activation(sig))},
      {"GdlOneVoxelLesionAbsentClass", kShape, oneVoxelLesion, dice(GeneralizedDiceLossOptions())},
      {"GdlAllBackgroundNoBackground", kShape, allBackground,
       dice(GeneralizedDiceLossOptions().include_background(false))},
      {"DeepSupervisionDiceCE", {2, 3, 4, 4, 2}, [] { return labelsOf({2, 1, 4, 4, 2}, 3, 5); },
       [](const torch::Tensor& x, const torch::Tensor& y) {
         // Three "levels" cut from one tensor so that every level's gradient is checked.
         std::vector<torch::Tensor> outs{x, x.slice(2, 0, 2).slice(3, 0, 2) * 0.5, x.slice(2, 0, 1).slice(3, 0, 1)};
         return deepSupervisionLoss(outs, y, [](const torch::Tensor& l, const torch::Tensor& t) {
           return diceCELoss(l, t, DiceCELossOptions());
         });
       }},
  };
  return all;
}

class LossGradCheckTest : public ::testing::TestWithParam<GradCase> {};

TEST_P(LossGradCheckTest, AnalyticGradientMatchesCentralDifferences) {
  const GradCase& c = GetParam();
  const auto labels = c.labels();
  const auto point = logitsOf(c.logitShape, 3);
  EXPECT_LE(gradcheck([&](const torch::Tensor& x) { return c.loss(x, labels); }, point), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Losses, LossGradCheckTest, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<GradCase>& info) { return std::string(info.param.name); });

TEST(LossPrecisionTest, LowPrecisionLogitsGiveFloat32Statistics) {
  auto logits = torch::randn({1, 2, 2, 2, 2}).to(torch::kBFloat16);
  auto labels = torch::randint(0, 2, {1, 1, 2, 2, 2}, torch::kInt64);
  EXPECT_EQ(diceStatistics(logits, labels, DiceLossOptions()).tp.scalar_type(), torch::kFloat32);
  EXPECT_EQ(diceCELoss(logits, labels, DiceCELossOptions()).scalar_type(), torch::kFloat32);
}

}  // namespace
}  // namespace seg

namespace seg {
namespace {

TEST(LossGradCheckTest, DetectsAWrongGradient) {
  // d/dx sum(stop_grad(x) * x) claims x, the true derivative is 2x.
  const auto point = logitsOf({2, 3}, 1);
  EXPECT_GT(gradcheck([](const torch::Tensor& x) { return (x.detach() * x).sum(); }, point), 0.0);
}

}  // namespace
}  // namespace seg
