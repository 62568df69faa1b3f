// The composition root's factories (jobs/Factories.h) map each config field onto the
// parts' options: the U-Net options (x, y, z lists reversed to tensor z, y, x), the loss
// (every LossConfig field reaches the value, which equals the direct call of the loss with
// those options, and plain Dice equals its formula), the optimiser and the LR schedule.
// resolveDevice: DeviceTest.cpp.
#include "jobs/Factories.h"

#include <gtest/gtest.h>
#include <torch/optim.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>

#include "losses/CrossEntropyLoss.h"
#include "losses/DiceCELoss.h"
#include "losses/DiceLoss.h"
#include "losses/GeneralizedDiceLoss.h"
#include "support/TestUtil.h"
#include "support/TorchTest.h"

namespace seg {
namespace {

TEST(FactoriesTest, UNetOptionsCopyTheModelConfigWithAxesInTensorOrder) {
  ModelConfig m;
  m.features = {4, 8, 16};
  m.kernel_sizes = {{3, 3, 1}, {3, 3, 3}, {5, 3, 3}};  // x, y, z
  m.strides = {{1, 1, 1}, {2, 2, 1}, {2, 1, 2}};       // x, y, z
  m.deep_supervision = true;
  m.checkpointing = true;
  m.convs_per_stage = 1;
  m.norm = "group";
  m.activation = "relu";
  m.dropout = 0.25;
  const UNetOptions o = makeUNetOptions(m, 2, 3);
  EXPECT_EQ(o.in_channels(), 2);
  EXPECT_EQ(o.num_classes(), 3);
  EXPECT_EQ(o.features(), (std::vector<int64_t>{4, 8, 16}));
  EXPECT_EQ(o.kernel_sizes(), (StageTriples{{1, 3, 3}, {3, 3, 3}, {3, 3, 5}}));
  EXPECT_EQ(o.strides(), (StageTriples{{1, 1, 1}, {1, 2, 2}, {2, 1, 2}}));
  EXPECT_TRUE(o.deep_supervision());
  EXPECT_TRUE(o.checkpointing());
  EXPECT_EQ(o.convs_per_stage(), 1);
  EXPECT_EQ(o.norm(), "group");
  EXPECT_EQ(o.negative_slope(), 0.0);  // relu
  EXPECT_EQ(o.dropout(), 0.25);
  // The network built from them: per tensor axis z, y, x the product of the strides
  // (without checkpointing, which refuses dropout).
  UNetOptions buildable = o;
  buildable.checkpointing(false);
  EXPECT_EQ(UNet(buildable)->sizeDivisors(), (std::array<int64_t, 3>{2, 2, 4}));
}

TEST(FactoriesTest, UNetOptionsDefaultsAreLeakyReluAndNnUNetStrides) {
  const UNetOptions o = makeUNetOptions(ModelConfig{}, 1, 2);
  EXPECT_EQ(o.features(), (std::vector<int64_t>{16, 32, 64, 128}));
  EXPECT_EQ(o.negative_slope(), 0.01);  // leaky_relu, nnU-Net's slope
  EXPECT_TRUE(o.kernel_sizes().empty());
  EXPECT_TRUE(o.strides().empty());
  EXPECT_FALSE(o.deep_supervision());
  EXPECT_EQ(o.norm(), "instance");
}

// Logits (2, 3, 4, 4, 4) in float64 and labels with class 2 absent from sample 0 (GDL's
// infinite weight) and class 1 in both.
struct Inputs {
  torch::Tensor logits, labels;
};

Inputs makeInputs() {
  Inputs in;
  in.logits = torch::randn({2, 3, 4, 4, 4}, torch::kFloat64);
  in.labels = torch::randint(0, 3, {2, 1, 4, 4, 4}, torch::kInt64);
  in.labels[0].clamp_max_(1);
  in.labels[0][0][0][0][0] = 1;
  return in;
}

// MONAI's Dice loss by its formula: softmax, one-hot, per sample and class
// 1 - (2 tp + 1e-5) / (sum p + sum g + 1e-5), mean over both.
class FactoriesLossFormulaTest : public test::SeededTest {};

TEST_F(FactoriesLossFormulaTest, DiceLossEqualsTheFormula) {
  const Inputs in = makeInputs();
  const auto p = torch::softmax(in.logits, 1);
  const auto g = torch::one_hot(in.labels.squeeze(1), 3).permute({0, 4, 1, 2, 3}).to(torch::kFloat64);
  const auto tp = (p * g).sum({2, 3, 4}), sumP = p.sum({2, 3, 4}), sumG = g.sum({2, 3, 4});
  const auto expected = (1.0 - (2.0 * tp + 1e-5) / (sumP + sumG + 1e-5)).mean();
  test::expectTensorClose(makeLoss(LossConfig{})(in.logits, in.labels), expected, 1e-12, 1e-12, "dice");
}

struct LossCase {
  const char* name;
  std::function<void(LossConfig&)> configure;
  // The loss called directly with the options the fields should become.
  std::function<torch::Tensor(const Inputs&, const StatisticsReducer&)> direct;
  bool changesTheValue;  // against the same loss with the default config
};

DiceLossOptions dice() { return DiceLossOptions(); }

std::vector<LossCase> lossCases() {
  auto diceCase = [](const char* name, std::function<void(LossConfig&)> f, DiceLossOptions o) {
    return LossCase{name, [f](LossConfig& c) { c.name = "dice"; f(c); },
                    [o](const Inputs& in, const StatisticsReducer& r) { return diceLoss(in.logits, in.labels, o, r); },
                    true};
  };
  auto diceCECase = [](const char* name, std::function<void(LossConfig&)> f, DiceCELossOptions o) {
    return LossCase{name, [f](LossConfig& c) { c.name = "dice_ce"; f(c); },
                    [o](const Inputs& in, const StatisticsReducer& r) { return diceCELoss(in.logits, in.labels, o, r); },
                    true};
  };
  auto gdlCase = [](const char* name, std::function<void(LossConfig&)> f, GeneralizedDiceLossOptions o) {
    return LossCase{name, [f](LossConfig& c) { c.name = "gdl"; f(c); },
                    [o](const Inputs& in, const StatisticsReducer& r) {
                      return generalizedDiceLoss(in.logits, in.labels, o, r);
                    },
                    true};
  };
  std::vector<LossCase> cases = {
      diceCase("dice_include_background_false", [](LossConfig& c) { c.include_background = false; },
               dice().include_background(false)),
      diceCase("dice_sigmoid", [](LossConfig& c) { c.activation = "sigmoid"; }, dice().activation(Activation::Sigmoid)),
      diceCase("dice_squared_pred", [](LossConfig& c) { c.squared_pred = true; }, dice().squared_pred(true)),
      diceCase("dice_jaccard", [](LossConfig& c) { c.jaccard = true; }, dice().jaccard(true)),
      diceCase("dice_batch", [](LossConfig& c) { c.batch = true; }, dice().batch(true)),
      diceCase("dice_smooth_nr", [](LossConfig& c) { c.smooth_nr = 2.0; }, dice().smooth_nr(2.0)),
      diceCase("dice_smooth_dr", [](LossConfig& c) { c.smooth_dr = 3.0; }, dice().smooth_dr(3.0)),
      diceCase("dice_class_weights", [](LossConfig& c) { c.class_weights = {0.2, 1.0, 3.0}; },
               dice().class_weights({0.2, 1.0, 3.0})),
      diceCECase("dice_ce_lambdas",
                 [](LossConfig& c) {
                   c.lambda_dice = 0.3;
                   c.lambda_ce = 2.0;
                 },
                 DiceCELossOptions().lambda_dice(0.3).lambda_ce(2.0)),
      // The weights go to DiceCELoss, which hands the Dice term its share.
      diceCECase("dice_ce_class_weights", [](LossConfig& c) { c.class_weights = {0.5, 1.0, 2.0}; },
                 DiceCELossOptions().class_weights({0.5, 1.0, 2.0})),
      diceCECase("dice_ce_dice_options",
                 [](LossConfig& c) {
                   c.include_background = false;
                   c.squared_pred = true;
                   c.batch = true;
                   c.smooth_nr = 0.5;
                 },
                 DiceCELossOptions().dice(dice().include_background(false).squared_pred(true).batch(true).smooth_nr(0.5))),
      gdlCase("gdl_simple", [](LossConfig& c) { c.w_type = "simple"; },
              GeneralizedDiceLossOptions().w_type(GdlWeight::Simple)),
      gdlCase("gdl_uniform", [](LossConfig& c) { c.w_type = "uniform"; },
              GeneralizedDiceLossOptions().w_type(GdlWeight::Uniform)),
      gdlCase("gdl_batch", [](LossConfig& c) { c.batch = true; }, GeneralizedDiceLossOptions().batch(true)),
      gdlCase("gdl_include_background_false", [](LossConfig& c) { c.include_background = false; },
              GeneralizedDiceLossOptions().include_background(false)),
      gdlCase("gdl_sigmoid", [](LossConfig& c) { c.activation = "sigmoid"; },
              GeneralizedDiceLossOptions().activation(Activation::Sigmoid)),
      gdlCase("gdl_smoothing",
              [](LossConfig& c) {
                c.smooth_nr = 1.0;
                c.smooth_dr = 2.0;
              },
              GeneralizedDiceLossOptions().smooth_nr(1.0).smooth_dr(2.0)),
      LossCase{"ce_class_weights",
               [](LossConfig& c) {
                 c.name = "ce";
                 c.class_weights = {0.5, 1.0, 4.0};
               },
               [](const Inputs& in, const StatisticsReducer&) {
                 return crossEntropyLoss(in.logits, in.labels, CrossEntropyLossOptions().class_weights({0.5, 1.0, 4.0}));
               },
               true},
  };
  // Each loss with the default config: the baselines of the cases above.
  cases.push_back(diceCase("dice_defaults", [](LossConfig&) {}, dice()));
  cases.back().changesTheValue = false;
  cases.push_back(diceCECase("dice_ce_defaults", [](LossConfig&) {}, DiceCELossOptions()));
  cases.back().changesTheValue = false;
  cases.push_back(gdlCase("gdl_defaults", [](LossConfig&) {}, GeneralizedDiceLossOptions()));
  cases.back().changesTheValue = false;
  cases.push_back(LossCase{"ce_defaults", [](LossConfig& c) { c.name = "ce"; },
                           [](const Inputs& in, const StatisticsReducer&) { return crossEntropyLoss(in.logits, in.labels); },
                           false});
  return cases;
}

class FactoriesLossTest : public test::SeededParamTest<LossCase> {};

TEST_P(FactoriesLossTest, ConfigFieldsReachTheLoss) {
  const LossCase& c = GetParam();
  const Inputs in = makeInputs();
  LossConfig config;
  c.configure(config);
  const auto value = makeLoss(config)(in.logits, in.labels);
  test::expectTensorClose(value, c.direct(in, {}), 1e-12, 1e-12, c.name);
  if (c.changesTheValue) {
    // The field must matter on these inputs, or a factory that dropped it would pass.
    LossConfig plain;
    plain.name = config.name;
    const auto baseline = makeLoss(plain)(in.logits, in.labels);
    EXPECT_GT(test::maxAbsDiff(value, baseline), 1e-6) << c.name << ": the field leaves the value unchanged";
  }
  // The reducer (global Dice statistics in a multi-process run) reaches the Dice family.
  int calls = 0;
  const StatisticsReducer doubleTp = [&calls](const DiceStatistics& s) {
    ++calls;
    DiceStatistics out = s;
    out.tp = s.tp * 1.5;
    return out;
  };
  const auto reduced = makeLoss(config, doubleTp)(in.logits, in.labels);
  const int factoryCalls = calls;
  test::expectTensorClose(reduced, c.direct(in, doubleTp), 1e-12, 1e-12, std::string(c.name) + " with a reducer");
  EXPECT_EQ(factoryCalls, config.name == "ce" ? 0 : 1) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Losses, FactoriesLossTest, ::testing::ValuesIn(lossCases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(FactoriesTest, UnknownLossAndOptimizerAreInputErrors) {
  LossConfig loss;
  loss.name = "focal";
  EXPECT_EQ(test::errorOf([&] { makeLoss(loss); }), "loss.name: unknown loss 'focal'");
  OptimizerConfig optimizer;
  optimizer.name = "lion";
  UNet net(UNetOptions(1, 2).features({4, 8}));
  EXPECT_EQ(test::errorOf([&] { makeOptimizer(optimizer, net); }), "train.optimizer.name: unknown optimizer 'lion'");
}

TEST(FactoriesTest, SgdTakesLrMomentumNesterovAndWeightDecayFromTheConfig) {
  torch::manual_seed(0);
  UNet net(UNetOptions(1, 2).features({4, 8}));
  OptimizerConfig config;
  config.lr = 0.02;
  config.momentum = 0.8;
  config.nesterov = true;
  config.weight_decay = 0.1;
  auto optimizer = makeOptimizer(config, net);
  auto* sgd = dynamic_cast<torch::optim::SGD*>(optimizer.get());
  ASSERT_NE(sgd, nullptr) << "sgd must be torch::optim::SGD";
  ASSERT_EQ(sgd->param_groups().size(), 1u);
  const auto& o = static_cast<const torch::optim::SGDOptions&>(sgd->param_groups()[0].options());
  EXPECT_EQ(o.lr(), 0.02);
  EXPECT_EQ(o.momentum(), 0.8);
  EXPECT_TRUE(o.nesterov());
  EXPECT_EQ(o.weight_decay(), 0.1);
  EXPECT_EQ(o.dampening(), 0.0);
  EXPECT_EQ(sgd->param_groups()[0].params().size(), net->parameters().size());

  // The first step by hand: d = g + wd w; Nesterov: w - lr (d + m d).
  auto w = net->parameters()[0];
  const auto w0 = w.detach().clone();
  for (auto& p : net->parameters()) p.mutable_grad() = torch::ones_like(p);
  optimizer->step();
  test::expectTensorClose(w.detach(), w0 - 0.02 * (1.0 + 0.8) * (1.0 + 0.1 * w0), 1e-7, 1e-6, "first Nesterov step");
}

TEST(FactoriesTest, AdamAndAdamWTakeBetasEpsAndWeightDecay) {
  UNet net(UNetOptions(1, 2).features({4, 8}));
  OptimizerConfig config;
  config.lr = 3e-4;
  config.betas = {0.8, 0.95};
  config.eps = 1e-6;
  config.weight_decay = 0.05;
  config.name = "adam";
  auto adam = makeOptimizer(config, net);
  ASSERT_NE(dynamic_cast<torch::optim::Adam*>(adam.get()), nullptr);
  const auto& a = static_cast<const torch::optim::AdamOptions&>(adam->param_groups()[0].options());
  EXPECT_EQ(a.lr(), 3e-4);
  EXPECT_EQ(a.betas(), std::make_tuple(0.8, 0.95));
  EXPECT_EQ(a.eps(), 1e-6);
  EXPECT_EQ(a.weight_decay(), 0.05);
  config.name = "adamw";
  auto adamw = makeOptimizer(config, net);
  ASSERT_NE(dynamic_cast<torch::optim::AdamW*>(adamw.get()), nullptr) << "adamw must not be plain Adam";
  const auto& w = static_cast<const torch::optim::AdamWOptions&>(adamw->param_groups()[0].options());
  EXPECT_EQ(w.lr(), 3e-4);
  EXPECT_EQ(w.betas(), std::make_tuple(0.8, 0.95));
  EXPECT_EQ(w.eps(), 1e-6);
  EXPECT_EQ(w.weight_decay(), 0.05);
}

TEST(FactoriesTest, ScheduleTakesTheSchedulerTheOptimizerRateAndTheRunLength) {
  TrainSection train;
  train.epochs = 7;
  train.iterations_per_epoch = 30;
  train.optimizer.lr = 0.04;
  train.scheduler.name = "cosine";
  train.scheduler.exponent = 1.5;
  train.scheduler.min_lr = 1e-4;
  train.scheduler.warmup_iterations = 12;
  const LrScheduleOptions s = makeSchedule(train);
  EXPECT_EQ(s.name, "cosine");
  EXPECT_EQ(s.baseLr, 0.04);
  EXPECT_EQ(s.exponent, 1.5);
  EXPECT_EQ(s.minLr, 1e-4);
  EXPECT_EQ(s.warmupIterations, 12);
  EXPECT_EQ(s.totalIterations, 7 * 30);
  // Halfway through the run the cosine rate is the mean of base and floor.
  EXPECT_NEAR(learningRateAt(s, 105), (0.04 + 1e-4) / 2, 1e-15);
  train.scheduler = SchedulerConfig{};  // poly, 0.9
  EXPECT_NEAR(learningRateAt(makeSchedule(train), 105), 0.04 * std::pow(0.5, 0.9), 1e-15);
}

}  // namespace
}  // namespace seg
