// The frozen encoder of fine-tuning (TrainerOptions::freezeEncoderEpochs): during the
// frozen epochs the encoder's weights stay bit-identical, whatever the optimiser does
// with momentum and weight decay, with loss scaling and clipping on, while the decoder
// trains; afterwards the encoder trains too. A run stopped inside the frozen phase and
// resumed ends where the uninterrupted run ends, and two Gloo ranks leave the frozen
// parameters without gradient alike.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <exception>
#include <filesystem>
#include <thread>

#include "losses/DiceCELoss.h"
#include "support/TestUtil.h"
#include "support/TorchTest.h"
#include "train/InitFrom.h"
#include "train/Trainer.h"
#include "train/dist/DataParallel.h"
#include "train/dist/LocalLauncher.h"
#include "train/dist/ProcessGroup.h"

namespace seg {
namespace {

constexpr int64_t kSide = 8;

class InitFromFreezeTest : public test::SeededTest {
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
        c.label.data.push_back(inside ? 1 : 0);
        c.image.data.push_back((inside ? 1.0f : 0.0f) + n[(z * kSide + y) * kSide + x]);
      }
  return c;
}

// The cases' noise comes from torch's generator: one call, one dataset.
std::shared_ptr<const PatchSampler> sampler() {
  PatchSamplerOptions o;
  o.patchZYX = {kSide, kSide, kSide};
  o.batchSize = 2;
  o.augment.enabled = false;
  o.seed = 1;
  std::vector<LoadedCase> cases{boxCase("a", 2, 5), boxCase("b", 3, 7)};
  return std::make_shared<const PatchSampler>(std::make_shared<const std::vector<LoadedCase>>(std::move(cases)), o);
}

UNet tinyNet(uint64_t seed) {
  torch::manual_seed(seed);
  return UNet(UNetOptions(1, 2).features({4, 8}));
}

LrScheduleOptions poly(int64_t total) {
  LrScheduleOptions s;
  s.name = "poly";
  s.baseLr = 0.1;
  s.exponent = 0.9;
  s.totalIterations = total;
  return s;
}

TrainerOptions optionsFor(const std::string& dir, int64_t epochs, int64_t iterations, int64_t frozenEpochs) {
  TrainerOptions o;
  o.epochs = epochs;
  o.iterationsPerEpoch = iterations;
  o.valEvery = 0;
  o.gradClip = 0.0;
  o.loaderWorkers = 0;
  o.outputDir = dir;
  o.numClasses = 2;
  o.freezeEncoderEpochs = frozenEpochs;
  return o;
}

// SGD as nnU-Net uses it: Nesterov momentum and weight decay, both of which would move a
// parameter that merely had a zero gradient.
std::unique_ptr<torch::optim::Optimizer> sgd(UNet& net) {
  return std::make_unique<torch::optim::SGD>(
      net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(1e-2));
}

using Snapshot = std::map<std::string, torch::Tensor>;
Snapshot snapshot(UNet& net) {
  Snapshot s;
  for (const auto& item : net->named_parameters()) s[item.key()] = item.value().detach().clone();
  return s;
}
bool isEncoder(const std::string& name) { return name.rfind("encoder.", 0) == 0; }

// Whether every encoder (or every non-encoder) tensor equals `reference` bit for bit.
bool partEqual(const Snapshot& a, const Snapshot& reference, bool encoder) {
  for (const auto& [name, t] : a)
    if (isEncoder(name) == encoder && !torch::equal(t, reference.at(name))) return false;
  return true;
}

// A Dice+CE loss that records the weights as they are when iteration k starts (after k steps).
struct Recorder {
  UNet net;
  std::shared_ptr<std::vector<Snapshot>> seen = std::make_shared<std::vector<Snapshot>>();
  LossFn loss() const {
    return [net = net, seen = seen](const torch::Tensor& logits, const torch::Tensor& labels) mutable {
      seen->push_back(snapshot(net));
      return diceCELoss(logits, labels, DiceCELossOptions());
    };
  }
};

void expectFrozenThenTraining(const std::vector<Snapshot>& seen, const Snapshot& initial, const Snapshot& final,
                              size_t frozenSteps) {
  // seen[k]: after k steps. Steps 0 .. frozenSteps-1 belong to the frozen epochs.
  ASSERT_GT(seen.size(), frozenSteps);
  for (size_t k = 1; k <= frozenSteps; ++k) {
    EXPECT_TRUE(partEqual(seen[k], initial, /*encoder=*/true)) << "encoder moved in frozen step " << k - 1;
    EXPECT_FALSE(partEqual(seen[k], seen[k - 1], /*encoder=*/false)) << "decoder did not train in step " << k - 1;
  }
  EXPECT_FALSE(partEqual(final, initial, /*encoder=*/true)) << "the encoder must train after the freeze";
  EXPECT_FALSE(torch::equal(final.at("encoder.0.0.weight"), initial.at("encoder.0.0.weight")));
}

TEST_F(InitFromFreezeTest, FrozenEncoderIsBitIdenticalWithMomentumAndWeightDecayThenTrains) {
  // 3 epochs of 2 iterations, the first 2 epochs frozen: 4 frozen steps, then 2 free ones.
  UNet model = tinyNet(5);
  const Snapshot initial = snapshot(model);
  Recorder record{model};
  Trainer(model, record.loss(), sgd(model), poly(6), sampler(), nullptr,
          optionsFor(dir_.file("run"), 3, 2, /*frozenEpochs=*/2))
      .run();
  expectFrozenThenTraining(*record.seen, initial, snapshot(model), 4);
  for (const auto& p : model->parameters()) EXPECT_TRUE(p.requires_grad()) << "the model leaves the trainer trainable";
}

TEST_F(InitFromFreezeTest, AdamWDecoupledDecayLossScalingAndClippingLeaveTheFrozenEncoderAlone) {
  UNet model = tinyNet(7);
  const Snapshot initial = snapshot(model);
  Recorder record{model};
  TrainerOptions o = optionsFor(dir_.file("run"), 2, 2, /*frozenEpochs=*/1);
  o.gradClip = 0.5;
  o.scaler.enabled = true;  // unscale and the found-inf check see only the decoder's gradients
  auto adamw = std::make_unique<torch::optim::AdamW>(model->parameters(),
                                                     torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  const TrainSummary summary = Trainer(model, record.loss(), std::move(adamw), poly(4), sampler(), nullptr, o).run();
  EXPECT_EQ(summary.skippedSteps, 0);
  expectFrozenThenTraining(*record.seen, initial, snapshot(model), 2);
}

TEST_F(InitFromFreezeTest, AResumeInsideTheFrozenPhaseFreezesAsTheUninterruptedRun) {
  const auto cases = sampler();  // one draw of the cases' noise for all three trainers
  UNet reference = tinyNet(6);
  Trainer(reference, Recorder{reference}.loss(), sgd(reference), poly(6), cases, nullptr,
          optionsFor(dir_.file("reference"), 3, 2, 2))
      .run();

  // Stopped after iteration 2, the first of epoch 1 (frozen), then resumed in a fresh process.
  std::atomic<bool> stop{false};
  auto calls = std::make_shared<int>(0);
  const LossFn requestStop = [=, &stop](const torch::Tensor& logits, const torch::Tensor& labels) {
    if ((*calls)++ == 2) stop = true;
    return diceCELoss(logits, labels, DiceCELossOptions());
  };
  UNet first = tinyNet(6);
  const Snapshot initial = snapshot(first);
  TrainerOptions o = optionsFor(dir_.file("run"), 3, 2, 2);
  o.stopRequested = &stop;
  const TrainSummary stopped = Trainer(first, requestStop, sgd(first), poly(6), cases, nullptr, o).run();
  ASSERT_TRUE(stopped.stopped);
  EXPECT_EQ(stopped.iterations, 3);
  EXPECT_TRUE(partEqual(snapshot(first), initial, /*encoder=*/true));

  UNet resumed = tinyNet(60);
  o.stopRequested = nullptr;
  Recorder record{resumed};
  Trainer again(resumed, record.loss(), sgd(resumed), poly(6), cases, nullptr, o);
  again.resumeFrom(dir_.file("run/checkpoint_latest.pt"));
  again.run();
  // Iteration 3 (still frozen) started from the initial encoder and left it there.
  ASSERT_EQ(record.seen->size(), 3u);
  EXPECT_TRUE(partEqual((*record.seen)[1], initial, /*encoder=*/true)) << "the resumed run must still freeze";
  const auto pr = resumed->parameters(), pe = reference->parameters();
  ASSERT_EQ(pr.size(), pe.size());
  for (size_t i = 0; i < pr.size(); ++i) {
    test::expectTensorClose(pr[i], pe[i], 1e-6, 1e-5, "resumed vs uninterrupted, parameter " + std::to_string(i));
  }
}

TEST_F(InitFromFreezeTest, TwoRanksSkipTheFrozenParametersAlikeInTheGradientAllReduce) {
  constexpr int kWorld = 2;
  const int port = dist::findFreePort();
  std::vector<UNet> nets{tinyNet(3), tinyNet(3)};
  const Snapshot initial = snapshot(nets[0]);
  std::vector<std::exception_ptr> errors(kWorld);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < kWorld; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        dist::LaunchEnv env;
        env.rank = rank;
        env.worldSize = kWorld;
        env.masterAddr = "127.0.0.1";
        env.masterPort = port;
        env.source = "test";
        dist::ProcessGroupOptions options;
        options.backend = "gloo";
        options.timeout = std::chrono::seconds(60);
        dist::DataParallel parallel(dist::ProcessGroup::create(env, options, torch::kCPU), /*bucketBytes=*/4096);
        UNet& net = nets[rank];
        setParametersFrozen(*net, "encoder.", true);
        auto optimizer = sgd(net);
        for (int step = 0; step < 2; ++step) {
          torch::manual_seed(100 + 10 * step + rank);  // different data per rank
          const auto images = torch::randn({1, 1, kSide, kSide, kSide});
          const auto labels = (torch::rand({1, 1, kSide, kSide, kSide}) > 0.7).to(torch::kLong);
          optimizer->zero_grad();
          diceCELoss(net->forward(images), labels, DiceCELossOptions()).backward();
          parallel.averageGradients(net->parameters());
          for (const auto& item : net->named_parameters()) {
            EXPECT_EQ(item.value().grad().defined(), !isEncoder(item.key())) << "rank " << rank << " " << item.key();
          }
          optimizer->step();
        }
      } catch (...) {
        errors[rank] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  for (int rank = 0; rank < kWorld; ++rank) {
    const Snapshot after = snapshot(nets[rank]);
    EXPECT_TRUE(partEqual(after, initial, /*encoder=*/true)) << "rank " << rank;
    EXPECT_FALSE(partEqual(after, initial, /*encoder=*/false)) << "rank " << rank;
  }
  // Averaged decoder gradients: both ranks took the same steps.
  EXPECT_TRUE(partEqual(snapshot(nets[1]), snapshot(nets[0]), /*encoder=*/false));
}

}  // namespace
}  // namespace seg
