// Hand-computed Dice cases, options and shape errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "losses/DiceCELoss.h"
#include "losses/DiceLoss.h"
#include "losses/GeneralizedDiceLoss.h"

namespace seg {
namespace {

// Logits so confident that softmax is one-hot to float precision.
torch::Tensor confidentLogits(const torch::Tensor& labels, int64_t classes) {
  auto onehot = torch::one_hot(labels.squeeze(1), classes).movedim(-1, 1).to(torch::kFloat32);
  return onehot * 40.0f - 20.0f;
}

TEST(DiceLossTest, PerfectPredictionGivesZero) {
  auto labels = torch::randint(0, 3, {2, 1, 4, 4, 4}, torch::kInt64);
  const auto loss = diceLoss(confidentLogits(labels, 3), labels, DiceLossOptions());
  EXPECT_NEAR(loss.item<double>(), 0.0, 1e-6);
}

TEST(DiceLossTest, HandComputedBinaryCase) {
  // One sample, sigmoid, one channel, 4 voxels: p = (1, 1, 0, 0) (saturated logits),
  // g = (1, 0, 1, 0): tp = 1, sum_p = 2, sum_g = 2 -> 1 - (2 + 1e-5) / (4 + 1e-5).
  auto logits = torch::tensor({30.f, 30.f, -30.f, -30.f}).reshape({1, 1, 1, 2, 2});
  auto labels = torch::tensor({1, 0, 1, 0}, torch::kInt64).reshape({1, 1, 1, 2, 2});
  const auto loss = diceLoss(logits, labels, DiceLossOptions().activation(Activation::Sigmoid));
  EXPECT_NEAR(loss.item<double>(), 1.0 - (2.0 + 1e-5) / (4.0 + 1e-5), 1e-7);
}

TEST(DiceLossTest, EmptyClassWithEmptyPredictionCostsNothing) {
  // smooth_nr / smooth_dr = 1 when tp = sum_p = sum_g = 0: MONAI's smoothing makes an
  // absent class predicted absent a perfect score.
  auto labels = torch::zeros({1, 1, 2, 2, 2}, torch::kInt64);
  auto logits = confidentLogits(labels, 2);
  const auto perClass = diceLoss(logits, labels, DiceLossOptions().reduction(Reduction::None));
  ASSERT_EQ(perClass.sizes(), (std::vector<int64_t>{1, 2}));
  EXPECT_NEAR(perClass[0][1].item<double>(), 0.0, 1e-6);
}

TEST(DiceLossTest, ShapeMismatchNamesBothShapes) {
  auto logits = torch::zeros({2, 3, 8, 8, 8});
  auto labels = torch::zeros({2, 1, 8, 8, 4}, torch::kInt64);
  try {
    diceLoss(logits, labels, DiceLossOptions());
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    EXPECT_NE(msg.find("[2, 3, 8, 8, 8]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 1, 8, 8, 4]"), std::string::npos) << msg;
  }
}

TEST(DiceLossTest, LabelOutOfRangeIsRejected) {
  auto logits = torch::zeros({1, 2, 2, 2, 2});
  auto labels = torch::full({1, 1, 2, 2, 2}, 5, torch::kInt64);
  EXPECT_THROW(diceLoss(logits, labels, DiceLossOptions()), c10::Error);
}

TEST(DiceLossTest, WrongNumberOfClassWeightsIsRejected) {
  auto labels = torch::zeros({1, 1, 2, 2, 2}, torch::kInt64);
  EXPECT_THROW(diceLoss(confidentLogits(labels, 3), labels, DiceLossOptions().class_weights({1.0, 2.0})), c10::Error);
}

TEST(DiceLossTest, ReducerSeesStatisticsBeforeTheRatio) {
  // A reducer that doubles the statistics (as a 2-rank sum of identical ranks would)
  // leaves the ratio, and so the loss, unchanged up to smoothing.
  auto labels = torch::randint(0, 2, {2, 1, 4, 4, 4}, torch::kInt64);
  auto logits = torch::randn({2, 2, 4, 4, 4});
  const auto options = DiceLossOptions().batch(true).smooth_nr(0).smooth_dr(0);
  int calls = 0;
  StatisticsReducer doubler = [&](const DiceStatistics& s) {
    ++calls;
    return DiceStatistics{s.tp * 2, s.sumP * 2, s.sumG * 2};
  };
  const double plain = diceLoss(logits, labels, options).item<double>();
  const double reduced = diceLoss(logits, labels, options, doubler).item<double>();
  EXPECT_EQ(calls, 1);
  EXPECT_NEAR(plain, reduced, 1e-6);
}

TEST(DiceCELossTest, BothLambdasZeroIsRejected) {
  auto labels = torch::zeros({1, 1, 2, 2, 2}, torch::kInt64);
  EXPECT_THROW(diceCELoss(confidentLogits(labels, 2), labels, DiceCELossOptions().lambda_dice(0).lambda_ce(0)),
               c10::Error);
}

TEST(GeneralizedDiceLossTest, AllClassesAbsentGivesZeroWeightsAndZeroLoss) {
  // Background excluded and no foreground anywhere: all weights are 0, so the loss
  // is 1 - smooth_nr / smooth_dr = 0 (MONAI's convention).
  auto labels = torch::zeros({1, 1, 2, 2, 2}, torch::kInt64);
  auto logits = torch::randn({1, 3, 2, 2, 2});
  const auto loss = generalizedDiceLoss(logits, labels, GeneralizedDiceLossOptions().include_background(false));
  EXPECT_NEAR(loss.item<double>(), 0.0, 1e-7);
}

}  // namespace
}  // namespace seg

namespace seg {
namespace {

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "(no error)";
}

TEST(LossErrorsTest, LabelOutOfRangeNamesTheValueAndChannels) {
  auto logits = torch::zeros({1, 3, 2, 2, 2});
  auto labels = torch::full({1, 1, 2, 2, 2}, 3, torch::kInt64);
  const auto msg = errorOf([&] { diceLoss(logits, labels, DiceLossOptions()); });
  EXPECT_NE(msg.find("DiceLoss: label value 3 is out of range for 3 channels"), std::string::npos) << msg;
  const auto ce = errorOf([&] { crossEntropyTerm(logits, labels, {}); });
  EXPECT_NE(ce.find("DiceCELoss: label value 3 is out of range for 3 channels"), std::string::npos) << ce;
  const auto plain = errorOf([&] { crossEntropyLoss(logits, labels); });
  EXPECT_NE(plain.find("CrossEntropyLoss: label value 3 is out of range for 3 channels"), std::string::npos) << plain;
}

TEST(LossErrorsTest, CrossEntropyChecksWeightsAndShapes) {
  auto logits = torch::zeros({1, 3, 2, 2, 2});
  auto labels = torch::zeros({1, 1, 2, 2, 2}, torch::kInt64);
  EXPECT_EQ(errorOf([&] { crossEntropyLoss(logits, labels, CrossEntropyLossOptions().class_weights({1, 2})); }),
            "CrossEntropyLoss: 2 class weights given for 3 classes (logits [1, 3, 2, 2, 2]); weights cover all "
            "classes, background included");
  EXPECT_EQ(errorOf([&] { crossEntropyLoss(logits, labels, CrossEntropyLossOptions().class_weights({1, -2, 1})); }),
            "CrossEntropyLoss: class weights must be >= 0, got -2");
  EXPECT_EQ(errorOf([&] { crossEntropyLoss(logits, torch::zeros({1, 1, 2, 2, 1}, torch::kInt64)); }),
            "CrossEntropyLoss: logits [1, 3, 2, 2, 2] and labels [1, 1, 2, 2, 1] differ in size");
  // Uniform logits: CE = log(C) whatever the labels.
  EXPECT_NEAR(crossEntropyLoss(logits, labels).item<double>(), std::log(3.0), 1e-6);
}

TEST(LossErrorsTest, NegativeLabelIsRejected) {
  auto labels = torch::full({1, 1, 2, 2, 2}, -1, torch::kInt64);
  const auto msg = errorOf([&] { diceLoss(torch::zeros({1, 2, 2, 2, 2}), labels, DiceLossOptions()); });
  EXPECT_NE(msg.find("label value -1"), std::string::npos) << msg;
}

TEST(LossErrorsTest, OneSigmoidChannelNeedsBinaryLabels) {
  auto labels = torch::full({1, 1, 2, 2, 2}, 2, torch::kInt64);
  const auto msg = errorOf(
      [&] { diceLoss(torch::zeros({1, 1, 2, 2, 2}), labels, DiceLossOptions().activation(Activation::Sigmoid)); });
  EXPECT_NE(msg.find("one sigmoid channel expects labels 0 and 1"), std::string::npos) << msg;
}

TEST(LossErrorsTest, SoftmaxOnOneChannelNamesTheShape) {
  const auto msg = errorOf([&] {
    diceLoss(torch::zeros({1, 1, 2, 2, 2}), torch::zeros({1, 1, 2, 2, 2}, torch::kInt64), DiceLossOptions());
  });
  EXPECT_NE(msg.find("softmax over a single channel is constant (logits [1, 1, 2, 2, 2])"), std::string::npos) << msg;
}

TEST(LossErrorsTest, TargetWithWrongChannelCountNamesBothShapes) {
  const auto msg = errorOf([&] {
    diceLoss(torch::zeros({1, 3, 2, 2, 2}), torch::zeros({1, 2, 2, 2, 2}), DiceLossOptions());
  });
  EXPECT_NE(msg.find("labels [1, 2, 2, 2, 2] must have one channel (class indices) or 3 float channels"),
            std::string::npos)
      << msg;
}

TEST(LossErrorsTest, DifferentDimensionalityIsRejected) {
  const auto msg = errorOf([&] {
    diceLoss(torch::zeros({1, 2, 4, 4, 4}), torch::zeros({1, 1, 4, 4}, torch::kInt64), DiceLossOptions());
  });
  EXPECT_NE(msg.find("logits [1, 2, 4, 4, 4] and labels [1, 1, 4, 4] differ in size"), std::string::npos) << msg;
}

TEST(LossErrorsTest, DiceCEWeightsMustCoverAllClasses) {
  auto labels = torch::zeros({1, 1, 2, 2, 2}, torch::kInt64);
  const auto options = DiceCELossOptions().dice(DiceLossOptions().include_background(false)).class_weights({1.0, 2.0});
  const auto msg = errorOf([&] { diceCELoss(torch::zeros({1, 3, 2, 2, 2}), labels, options); });
  EXPECT_NE(msg.find("DiceCELoss: 2 class weights given for 3 classes (logits [1, 3, 2, 2, 2])"), std::string::npos)
      << msg;
}

TEST(LossErrorsTest, DiceWeightsOfWrongLengthNameBothCounts) {
  auto labels = torch::zeros({1, 1, 2, 2, 2}, torch::kInt64);
  const auto msg = errorOf(
      [&] { diceLoss(torch::zeros({1, 3, 2, 2, 2}), labels, DiceLossOptions().include_background(false).class_weights({1, 1, 1})); });
  EXPECT_NE(msg.find("DiceLoss: 3 class weights given for 2 classes (after background exclusion"), std::string::npos)
      << msg;
}

}  // namespace
}  // namespace seg
