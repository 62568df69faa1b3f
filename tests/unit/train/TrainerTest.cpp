// The training loop's contract (train/Trainer.h) on a U-Net with features {4, 8} and
// 8^3 cases whose patch is the whole volume, so every batch is a known tensor: each
// iteration is the same SGD step done here by hand with torch ops at the scheduled rate,
// clipping bounds the step, non-finite losses are refused or (with loss scaling) skipped
// and counted, counters, validation and checkpoints follow the epochs, and a stop followed
// by resumeFrom continues exactly where it left off.
#include "train/Trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "core/Error.h"
#include "losses/DiceCELoss.h"
#include "support/TestUtil.h"
#include "support/TorchTest.h"

namespace seg {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSide = 8;

class TrainerTest : public test::SeededTest {
 protected:
  test::TempDir dir_;
};

// An 8^3 case: a bright box [lo, hi)^3 (label 1) in noise.
LoadedCase boxCase(const std::string& id, int64_t lo, int64_t hi) {
  LoadedCase c;
  c.id = id;
  c.image.geometry.size = {kSide, kSide, kSide};
  c.label.geometry = c.image.geometry;
  const auto noise = (0.5 * torch::randn({kSide * kSide * kSide})).contiguous();
  const float* n = noise.data_ptr<float>();
  for (int64_t z = 0; z < kSide; ++z)
    for (int64_t y = 0; y < kSide; ++y)
      for (int64_t x = 0; x < kSide; ++x) {
        const bool inside = x >= lo && x < hi && y >= lo && y < hi && z >= lo && z < hi;
        const int64_t i = (z * kSide + y) * kSide + x;
        c.label.data.push_back(inside ? 1 : 0);
        c.image.data.push_back((inside ? 1.0f : 0.0f) + n[i]);
      }
  return c;
}

// Patches of the whole volume without augmentation: a batch is whole cases, picked by
// (seed, batch index), and sampler.sample(i) is the batch of iteration i.
std::shared_ptr<const PatchSampler> samplerOf(std::vector<LoadedCase> cases, uint64_t seed = 1) {
  PatchSamplerOptions o;
  o.patchZYX = {kSide, kSide, kSide};
  o.batchSize = 2;
  o.augment.enabled = false;
  o.seed = seed;
  return std::make_shared<const PatchSampler>(std::make_shared<const std::vector<LoadedCase>>(std::move(cases)), o);
}

std::shared_ptr<const PatchSampler> twoCaseSampler(uint64_t seed = 1) {
  return samplerOf({boxCase("a", 2, 5), boxCase("b", 3, 7)}, seed);
}

UNet tinyNet(uint64_t seed) {
  torch::manual_seed(seed);
  return UNet(UNetOptions(1, 2).features({4, 8}));
}

std::vector<torch::Tensor> weightsOf(UNet& net) {
  std::vector<torch::Tensor> out;
  for (const auto& p : net->parameters()) out.push_back(p.detach().clone());
  return out;
}

double maxWeightDiff(UNet& a, UNet& b) {
  double worst = 0.0;
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) worst = std::max(worst, test::maxAbsDiff(pa[i], pb[i]));
  return worst;
}

void expectSameWeights(UNet& actual, UNet& expected, const std::string& what) {
  const auto pa = actual->parameters(), pe = expected->parameters();
  ASSERT_EQ(pa.size(), pe.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    test::expectTensorClose(pa[i], pe[i], 1e-6, 1e-5, what + ", parameter " + std::to_string(i));
  }
}

LossFn diceCE() {
  return [](const torch::Tensor& logits, const torch::Tensor& labels) {
    return diceCELoss(logits, labels, DiceCELossOptions());
  };
}

std::unique_ptr<torch::optim::Optimizer> plainSgd(UNet& net, double lr) {
  return std::make_unique<torch::optim::SGD>(net->parameters(), torch::optim::SGDOptions(lr));
}

LrScheduleOptions schedule(const std::string& name, double base, int64_t total) {
  LrScheduleOptions s;
  s.name = name;
  s.baseLr = base;
  s.exponent = 0.9;
  s.totalIterations = total;
  return s;
}

TrainerOptions optionsFor(const std::string& dir, int64_t epochs, int64_t iterations) {
  TrainerOptions o;
  o.epochs = epochs;
  o.iterationsPerEpoch = iterations;
  o.valEvery = 0;
  o.gradClip = 0.0;
  o.loaderWorkers = 0;  // batches on the trainer's thread: fewer threads competing on small machines
  o.outputDir = dir;
  o.numClasses = 2;
  return o;
}

// One step of plain SGD (no momentum, no weight decay) done with torch ops; with
// clip > 0 the gradient is first scaled to a global L2 norm of at most `clip`
// (torch.nn.utils.clip_grad_norm_: factor clip / (norm + 1e-6) when below 1).
// Returns the unclipped gradient norm.
double sgdStepByHand(UNet& net, const LossFn& loss, const Batch& batch, double lr, double clip = 0.0) {
  net->train();
  for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
  loss(net->forward(batch.images), batch.labels).backward();
  torch::NoGradGuard noGrad;
  double squares = 0.0;
  for (const auto& p : net->parameters()) squares += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  const double norm = std::sqrt(squares);
  const double factor = clip > 0 ? std::min(1.0, clip / (norm + 1e-6)) : 1.0;
  for (auto& p : net->parameters()) p.sub_(p.grad() * (lr * factor));
  return norm;
}

double lossOn(UNet& net, const LossFn& loss, const Batch& batch) {
  torch::NoGradGuard noGrad;
  return loss(net->forward(batch.images), batch.labels).item<double>();
}

// metrics.csv as rows of column name -> text.
std::vector<std::map<std::string, std::string>> readMetrics(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::map<std::string, std::string>> rows;
  auto split = [](const std::string& line) {
    std::vector<std::string> fields;
    std::stringstream s(line);
    for (std::string f; std::getline(s, f, ',');) fields.push_back(f);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    return fields;
  };
  std::string line;
  if (!std::getline(in, line)) return rows;
  const auto header = split(line);
  while (std::getline(in, line)) {
    const auto fields = split(line);
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(row);
  }
  return rows;
}

TEST_F(TrainerTest, EachIterationIsOneSgdStepAtThePolyRateOfThatIteration) {
  // 2 epochs of 2 iterations: T = 4, poly rate 0.1 (1 - t/4)^0.9 at t = 0..3.
  const auto sampler = twoCaseSampler();
  UNet model = tinyNet(7);
  Trainer trainer(model, diceCE(), plainSgd(model, 0.1), schedule("poly", 0.1, 4), sampler, nullptr,
                  optionsFor(dir_.file("run"), 2, 2));
  const TrainSummary summary = trainer.run();
  EXPECT_EQ(summary.iterations, 4);
  EXPECT_EQ(summary.epochs, 2);

  UNet byHand = tinyNet(7);
  UNet constantRate = tinyNet(7);
  for (int64_t t = 0; t < 4; ++t) {
    const Batch batch = sampler->sample(static_cast<uint64_t>(t));
    sgdStepByHand(byHand, diceCE(), batch, 0.1 * std::pow(1.0 - t / 4.0, 0.9));
    sgdStepByHand(constantRate, diceCE(), batch, 0.1);
  }
  expectSameWeights(model, byHand, "poly steps by hand");
  // The comparison can fail: the same steps at the unscheduled rate end elsewhere.
  RecordProperty("constant_rate_weight_diff", std::to_string(maxWeightDiff(model, constantRate)));
  EXPECT_GT(maxWeightDiff(model, constantRate), 1e-4);
}

TEST_F(TrainerTest, GradientClippingScalesTheStepToTheClipNorm) {
  const auto sampler = twoCaseSampler();
  constexpr double kLr = 0.1, kClip = 1e-3;
  UNet model = tinyNet(3);
  const auto before = weightsOf(model);
  TrainerOptions o = optionsFor(dir_.file("run"), 1, 1);
  o.gradClip = kClip;
  Trainer trainer(model, diceCE(), plainSgd(model, kLr), schedule("constant", kLr, 1), sampler, nullptr, o);
  trainer.run();

  UNet byHand = tinyNet(3);
  const double norm = sgdStepByHand(byHand, diceCE(), sampler->sample(0), kLr, kClip);
  RecordProperty("raw_gradient_norm", std::to_string(norm));
  ASSERT_GT(norm, 100 * kClip) << "the raw gradient must exceed the bound for clipping to act";
  expectSameWeights(model, byHand, "clipped step by hand");
  // Independently of the gradient's direction: the step has length lr * clip.
  double squares = 0.0;
  const auto after = model->parameters();
  for (size_t i = 0; i < after.size(); ++i) squares += (after[i] - before[i]).to(torch::kFloat64).pow(2).sum().item<double>();
  EXPECT_NEAR(std::sqrt(squares), kLr * kClip, 1e-3 * kLr * kClip);
}

TEST_F(TrainerTest, TrainingLowersTheLossOnAFixedBatch) {
  // One case: every batch is that case twice.
  const auto sampler = samplerOf({boxCase("a", 2, 6)});
  UNet model = tinyNet(5);
  const Batch batch = sampler->sample(0);
  const double before = lossOn(model, diceCE(), batch);
  auto optimizer = std::make_unique<torch::optim::SGD>(model->parameters(),
                                                       torch::optim::SGDOptions(0.05).momentum(0.9).nesterov(true));
  Trainer trainer(model, diceCE(), std::move(optimizer), schedule("constant", 0.05, 10), sampler, nullptr,
                  optionsFor(dir_.file("run"), 2, 5));
  const TrainSummary summary = trainer.run();
  const double after = lossOn(model, diceCE(), batch);
  RecordProperty("loss_before", std::to_string(before));
  RecordProperty("loss_after", std::to_string(after));
  EXPECT_LT(after, 0.8 * before) << "before " << before << ", after " << after;
  const auto rows = readMetrics(dir_.file("run/metrics.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_LT(std::stod(rows[1].at("train_loss")), std::stod(rows[0].at("train_loss")));
  EXPECT_NEAR(summary.lastTrainLoss, std::stod(rows[1].at("train_loss")), 1e-5 * summary.lastTrainLoss);
}

TEST_F(TrainerTest, ANonFiniteLossWithoutLossScalingStopsTrainingNamingTheIteration) {
  auto calls = std::make_shared<int>(0);
  const LossFn base = diceCE();
  const LossFn loss = [=](const torch::Tensor& logits, const torch::Tensor& labels) {
    const auto value = base(logits, labels);
    return (*calls)++ == 1 ? value * std::numeric_limits<double>::infinity() : value;
  };
  UNet model = tinyNet(1);
  Trainer trainer(model, loss, plainSgd(model, 0.1), schedule("constant", 0.1, 3), twoCaseSampler(), nullptr,
                  optionsFor(dir_.file("run"), 1, 3));
  try {
    trainer.run();
    FAIL() << "expected InternalError";
  } catch (const InternalError& e) {
    EXPECT_STREQ(e.what(), "training loss became inf at iteration 1 (lower train.optimizer.lr?)");
  }
}

TEST_F(TrainerTest, WithLossScalingANonFiniteStepIsSkippedAndCounted) {
  // Iteration 0's loss is NaN: its step is skipped, so the weights are those of one
  // step from the initial weights on iteration 1's batch.
  const auto sampler = twoCaseSampler();
  auto calls = std::make_shared<int>(0);
  const LossFn base = diceCE();
  const LossFn loss = [=](const torch::Tensor& logits, const torch::Tensor& labels) {
    const auto value = base(logits, labels);
    return (*calls)++ == 0 ? value * std::numeric_limits<double>::quiet_NaN() : value;
  };
  UNet model = tinyNet(2);
  TrainerOptions o = optionsFor(dir_.file("run"), 1, 2);
  o.scaler.enabled = true;
  Trainer trainer(model, loss, plainSgd(model, 0.1), schedule("constant", 0.1, 2), sampler, nullptr, o);
  const TrainSummary summary = trainer.run();
  EXPECT_EQ(summary.skippedSteps, 1);
  EXPECT_EQ(summary.iterations, 2);
  EXPECT_TRUE(std::isfinite(summary.lastTrainLoss)) << "the NaN must not enter the epoch's mean loss";
  const auto rows = readMetrics(dir_.file("run/metrics.csv"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("skipped_steps"), "1");

  UNet byHand = tinyNet(2);
  sgdStepByHand(byHand, diceCE(), sampler->sample(1), 0.1);
  expectSameWeights(model, byHand, "only iteration 1's step");
}

TEST_F(TrainerTest, CountersValidationAndCheckpointsFollowTheEpochs) {
  const auto sampler = twoCaseSampler();
  const auto valSampler = samplerOf({boxCase("v", 2, 6), boxCase("w", 1, 4)}, 99);
  UNet model = tinyNet(4);
  TrainerOptions o = optionsFor(dir_.file("run"), 2, 3);
  o.valEvery = 1;
  o.valIterations = 2;
  o.configYaml = "resolved: config\n";
  Trainer trainer(model, diceCE(), plainSgd(model, 0.1), schedule("poly", 0.1, 6), sampler, valSampler, o);
  const TrainSummary summary = trainer.run();
  EXPECT_EQ(summary.epochs, 2);
  EXPECT_EQ(summary.iterations, 6);
  EXPECT_FALSE(summary.stopped);

  const auto rows = readMetrics(dir_.file("run/metrics.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("epoch"), "1");
  EXPECT_EQ(rows[0].at("iteration"), "3");
  EXPECT_EQ(rows[1].at("epoch"), "2");
  EXPECT_EQ(rows[1].at("iteration"), "6");

  // The last validation ran on the final weights: 2TP / (2TP + FP + FN) of class 1 over
  // validation batches 0 and 1, counted here.
  model->eval();
  double tp = 0, fp = 0, fn = 0;
  {
    torch::NoGradGuard noGrad;
    for (uint64_t i = 0; i < 2; ++i) {
      const Batch b = valSampler->sample(i);
      const auto p = model->forward(b.images).argmax(1) == 1;
      const auto g = b.labels.squeeze(1) == 1;
      tp += (p & g).sum().item<double>();
      fp += (p & ~g).sum().item<double>();
      fn += (~p & g).sum().item<double>();
    }
  }
  const double dice2 = 2 * tp / (2 * tp + fp + fn);
  EXPECT_NEAR(std::stod(rows[1].at("val_dice_1")), dice2, 1e-5);
  // nnU-Net's EMA of the pseudo-Dice: the first value, then 0.9 old + 0.1 new.
  const double dice1 = std::stod(rows[0].at("val_dice_1"));
  EXPECT_NEAR(std::stod(rows[0].at("ema_dice")), dice1, 1e-5);
  const double ema2 = 0.9 * dice1 + 0.1 * dice2;
  EXPECT_NEAR(std::stod(rows[1].at("ema_dice")), ema2, 1e-5);
  EXPECT_NEAR(summary.bestEmaDice, std::max(dice1, ema2), 1e-5);

  for (const char* name : {"checkpoint_latest.pt", "checkpoint_best.pt", "checkpoint_final.pt"}) {
    ASSERT_TRUE(fs::exists(dir_.file(std::string("run/") + name))) << name;
    EXPECT_EQ(readCheckpointState(dir_.file(std::string("run/") + name)).configYaml, o.configYaml) << name;
  }
  const CheckpointState last = readCheckpointState(dir_.file("run/checkpoint_final.pt"));
  EXPECT_EQ(last.epoch, 2);
  EXPECT_EQ(last.iteration, 6);
  EXPECT_NEAR(last.bestEmaDice, summary.bestEmaDice, 1e-12);
}

TEST_F(TrainerTest, AStopRequestEndsTheRunAfterTheCurrentIterationAndResumeContinuesExactly) {
  // Uninterrupted: 2 epochs of 2 iterations, SGD with Nesterov momentum, poly rate.
  const auto sampler = twoCaseSampler();
  auto sgd = [](UNet& net) {
    return std::make_unique<torch::optim::SGD>(net->parameters(),
                                               torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true));
  };
  UNet reference = tinyNet(6);
  Trainer(reference, diceCE(), sgd(reference), schedule("poly", 0.1, 4), sampler, nullptr,
          optionsFor(dir_.file("reference"), 2, 2))
      .run();

  // The same run, stopped by a request that arrives during iteration 1 (mid-epoch).
  std::atomic<bool> stop{false};
  auto calls = std::make_shared<int>(0);
  const LossFn base = diceCE();
  const LossFn requestStop = [=, &stop](const torch::Tensor& logits, const torch::Tensor& labels) {
    if ((*calls)++ == 1) stop = true;
    return base(logits, labels);
  };
  UNet first = tinyNet(6);
  TrainerOptions o = optionsFor(dir_.file("run"), 2, 2);
  o.stopRequested = &stop;
  const TrainSummary stopped =
      Trainer(first, requestStop, sgd(first), schedule("poly", 0.1, 4), sampler, nullptr, o).run();
  EXPECT_TRUE(stopped.stopped);
  EXPECT_EQ(stopped.iterations, 2);
  EXPECT_EQ(stopped.epochs, 0);
  EXPECT_FALSE(fs::exists(dir_.file("run/checkpoint_final.pt")));
  ASSERT_TRUE(fs::exists(dir_.file("run/checkpoint_latest.pt")));
  EXPECT_EQ(readCheckpointState(dir_.file("run/checkpoint_latest.pt")).iteration, 2);

  // Resumed into a model and optimiser that start elsewhere: the checkpoint's weights and
  // momentum buffers replace them, and the batches continue from index 2.
  UNet resumed = tinyNet(60);
  o.stopRequested = nullptr;
  Trainer again(resumed, diceCE(), sgd(resumed), schedule("poly", 0.1, 4), sampler, nullptr, o);
  again.resumeFrom(dir_.file("run/checkpoint_latest.pt"));
  const TrainSummary finished = again.run();
  EXPECT_FALSE(finished.stopped);
  EXPECT_EQ(finished.iterations, 4);
  EXPECT_EQ(finished.epochs, 2);
  EXPECT_TRUE(fs::exists(dir_.file("run/checkpoint_final.pt")));
  expectSameWeights(resumed, reference, "stopped and resumed vs uninterrupted");
  EXPECT_GT(maxWeightDiff(resumed, first), 1e-4) << "the resumed run must have trained on";
}

}  // namespace
}  // namespace seg
