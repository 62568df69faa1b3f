// GradScaler against torch.amp.GradScaler's documented rules (design.md section 6).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "core/Error.h"
#include "support/TorchTest.h"
#include "train/GradScaler.h"

namespace seg {
namespace {

struct Fixture {
  torch::Tensor w = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD opt{{w}, torch::optim::SGDOptions(0.1)};
  void setGrad(const std::vector<float>& g) { w.mutable_grad() = torch::tensor(g); }
};

TEST(GradScalerTest, ScalesLossAndUnscalesGradients) {
  GradScaler scaler;
  EXPECT_DOUBLE_EQ(scaler.currentScale(), 65536.0);
  EXPECT_FLOAT_EQ(scaler.scale(torch::tensor(2.0f)).item<float>(), 131072.0f);
  Fixture f;
  f.setGrad({65536.f, -32768.f, 0.f});
  EXPECT_TRUE(scaler.unscale({f.w}));
  EXPECT_TRUE(torch::equal(f.w.grad(), torch::tensor({1.f, -0.5f, 0.f})));
  EXPECT_TRUE(scaler.stepAndUpdate(f.opt));
  // SGD with lr 0.1 on the unscaled gradient.
  test::expectTensorClose(f.w.detach(), torch::tensor({0.9f, 1.05f, 1.f}), 1e-8, 1e-5, "weights after the step");
  EXPECT_EQ(scaler.growthTracker(), 1);
}

TEST(GradScalerTest, NonFiniteGradientSkipsStepAndBacksOff) {
  for (float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    GradScaler scaler;
    Fixture f;
    f.setGrad({1.f, bad, 1.f});
    EXPECT_FALSE(scaler.unscale({f.w}));
    EXPECT_FALSE(scaler.stepAndUpdate(f.opt));
    EXPECT_TRUE(torch::equal(f.w.detach(), torch::ones({3})));  // weights untouched
    EXPECT_DOUBLE_EQ(scaler.currentScale(), 32768.0);
    EXPECT_EQ(scaler.growthTracker(), 0);
    EXPECT_EQ(scaler.skippedSteps(), 1);
  }
}

TEST(GradScalerTest, GrowsAfterGrowthIntervalCleanStepsAndResetsOnInf) {
  GradScalerOptions o;
  o.growthInterval = 3;
  o.initScale = 8.0;
  GradScaler scaler(o);
  Fixture f;
  const std::vector<std::pair<bool, double>> steps = {
      {true, 8}, {true, 8}, {true, 16},  // third clean step grows
      {false, 8},                          // inf backs off
      {true, 8}, {true, 8}, {true, 16}};
  for (const auto& [clean, expected] : steps) {
    f.setGrad({1.f, clean ? 1.f : std::numeric_limits<float>::infinity(), 1.f});
    scaler.unscale({f.w});
    scaler.stepAndUpdate(f.opt);
    EXPECT_DOUBLE_EQ(scaler.currentScale(), expected);
  }
}

TEST(GradScalerTest, FoundInfReducerMakesAllRanksSkip) {
  // A reducer that reports another rank's overflow: this rank must skip too.
  GradScaler scaler;
  scaler.setFoundInfReducer([](torch::Tensor& found) { found.fill_(1.0f); });
  Fixture f;
  f.setGrad({1.f, 1.f, 1.f});
  EXPECT_FALSE(scaler.unscale({f.w}));
  EXPECT_FALSE(scaler.stepAndUpdate(f.opt));
  EXPECT_TRUE(torch::equal(f.w.detach(), torch::ones({3})));
}

TEST(GradScalerTest, StateRoundTripsThroughAnArchive) {
  GradScalerOptions o;
  o.growthInterval = 10;
  GradScaler a(o);
  Fixture f;
  for (int i = 0; i < 4; ++i) {
    f.setGrad({1.f, i == 1 ? std::numeric_limits<float>::infinity() : 1.f, 1.f});
    a.unscale({f.w});
    a.stepAndUpdate(f.opt);
  }
  torch::serialize::OutputArchive out;
  a.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  std::istringstream in(bytes.str());
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  GradScaler b(o);
  b.load(archive);
  EXPECT_DOUBLE_EQ(b.currentScale(), a.currentScale());
  EXPECT_EQ(b.growthTracker(), a.growthTracker());
  EXPECT_EQ(b.skippedSteps(), 1);
}

TEST(GradScalerTest, DisabledScalerIsTransparent) {
  GradScalerOptions o;
  o.enabled = false;
  GradScaler scaler(o);
  EXPECT_FLOAT_EQ(scaler.scale(torch::tensor(3.0f)).item<float>(), 3.0f);
  Fixture f;
  f.setGrad({1.f, 1.f, 1.f});
  EXPECT_TRUE(scaler.stepAndUpdate(f.opt));
  test::expectTensorClose(f.w.detach(), torch::full({3}, 0.9f), 1e-8, 1e-5, "weights after the step");
}

TEST(GradScalerTest, InvalidOptionsAreRejected) {
  GradScalerOptions o;
  o.backoffFactor = 1.5;
  EXPECT_THROW(GradScaler{o}, InputError);
}

}  // namespace
}  // namespace seg

#include "core/Autocast.h"
#include "models/UNet.h"

namespace seg {
namespace {

TEST(GradScalerTest, Bfloat16AutocastWithTheScalerEnabledStillTrains) {
  // bf16 needs no scaler, but enabling it must be harmless: steps are taken and the
  // loss goes down on a fixed batch.
  torch::manual_seed(4);
  UNet net(UNetOptions(1, 2).features({4, 8}));
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  GradScaler scaler;
  const auto x = torch::randn({2, 1, 8, 8, 8});
  const auto y = (x > 0.5).to(torch::kLong).squeeze(1);
  double first = 0, last = 0;
  for (int step = 0; step < 15; ++step) {
    opt.zero_grad();
    torch::Tensor loss;
    {
      AutocastGuard autocast(c10::DeviceType::CPU, true, c10::ScalarType::BFloat16);
      loss = torch::nn::functional::cross_entropy(net->forward(x).to(torch::kFloat32), y);
    }
    scaler.scale(loss).backward();
    scaler.unscale(net->parameters());
    EXPECT_TRUE(scaler.stepAndUpdate(opt));
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, first);
  EXPECT_EQ(scaler.skippedSteps(), 0);
}

}  // namespace
}  // namespace seg
