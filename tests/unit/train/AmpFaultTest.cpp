// AMP faults injected into a real training loop: a loss that turns inf or NaN (so every
// gradient is non-finite), a loss spike that overflows once multiplied by the loss scale,
// and a finite spike. The GradScaler must skip exactly the non-finite steps and count them
// (summary and metrics.csv), the weights must stay finite, and training must still converge
// on the synthetic phantoms like the same run without faults.
// tests/reliability (scripts/reliability.sh) prints the "AMP faults:" line below.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

#include "data/CaseLoader.h"
#include "data/PatchSampler.h"
#include "data/Preprocess.h"
#include "data/Synth.h"
#include "losses/DiceCELoss.h"
#include "support/TestUtil.h"
#include "train/Trainer.h"

namespace seg {
namespace {

struct FaultRun {
  TrainSummary summary;
  std::vector<double> epochLoss;      // metrics.csv train_loss per epoch
  int64_t csvSkipped = -1;            // metrics.csv skipped_steps of the last epoch
  bool weightsFinite = true;
};

constexpr int64_t kEpochs = 6;
constexpr int64_t kIterations = 8;

// Iteration -> loss multiplier. Faults sit in the middle epochs so the first and last
// epoch means compare clean losses.
const std::map<int64_t, double> kFaults = {
    {13, std::numeric_limits<double>::infinity()},  // inf loss -> inf/NaN gradients
    {20, std::numeric_limits<double>::quiet_NaN()},  // NaN loss -> NaN gradients
    {29, 1e36},  // spike: finite loss, overflows in float32 once scaled (scale >= 2^13)
    {35, 1e3},   // finite spike: finite gradients, clipped, the step is taken
};

FaultRun train(bool inject, const test::TempDir& dir) {
  torch::manual_seed(11);
  SynthOptions synth;
  synth.size = {32, 32, 16};
  synth.minLesions = 2;
  synth.maxLesions = 4;
  synth.minRadius = 2.0;
  synth.maxRadius = 5.0;
  synth.seed = 8;
  auto cases = std::make_shared<std::vector<LoadedCase>>();
  for (int i = 0; i < 4; ++i) {
    SynthCase c = makePhantom(synth, i);
    LoadedCase loaded;
    loaded.id = "case_" + std::to_string(i);
    loaded.image = std::move(c.image);
    loaded.label = std::move(c.label);
    normalizeIntensities(loaded.image, PreprocessOptions{}, loaded.id);  // z-score
    cases->push_back(std::move(loaded));
  }
  PatchSamplerOptions sampling;
  sampling.patchZYX = {16, 24, 24};
  sampling.batchSize = 2;
  sampling.foregroundFraction = 0.5;
  sampling.augment.enabled = false;
  sampling.seed = 3;
  std::shared_ptr<const std::vector<LoadedCase>> shared = cases;
  auto trainSampler = std::make_shared<const PatchSampler>(shared, sampling);

  UNet model(UNetOptions(1, 2).features({4, 8}));
  auto optimizer = std::make_unique<torch::optim::SGD>(model->parameters(),
                                                       torch::optim::SGDOptions(0.05).momentum(0.9).nesterov(true));
  LrScheduleOptions schedule;
  schedule.name = "constant";
  schedule.baseLr = 0.05;
  schedule.totalIterations = kEpochs * kIterations;

  auto iteration = std::make_shared<int64_t>(0);
  const auto options = DiceCELossOptions();
  LossFn loss = [=](const torch::Tensor& logits, const torch::Tensor& labels) {
    torch::Tensor value = diceCELoss(logits, labels, options);
    const auto fault = kFaults.find((*iteration)++);
    if (inject && fault != kFaults.end()) value = value * fault->second;
    return value;
  };

  TrainerOptions o;
  o.epochs = kEpochs;
  o.iterationsPerEpoch = kIterations;
  o.valEvery = 0;
  o.gradClip = 12.0;
  o.loaderWorkers = 1;
  o.outputDir = dir.file(inject ? "faulty" : "clean");
  o.numClasses = 2;
  o.scaler.enabled = true;  // torch.amp defaults: 2^16, x0.5 on inf, x2 after 2000 clean steps
  Trainer trainer(model, loss, std::move(optimizer), schedule, trainSampler, nullptr, o);

  FaultRun run;
  run.summary = trainer.run();
  for (const auto& p : model->parameters()) run.weightsFinite &= torch::isfinite(p).all().item<bool>();
  std::ifstream csv(o.outputDir + "/metrics.csv");
  std::string line;
  std::getline(csv, line);
  while (std::getline(csv, line)) {
    std::vector<std::string> fields;
    std::stringstream in(line);
    for (std::string f; std::getline(in, f, ',');) fields.push_back(f);
    run.epochLoss.push_back(std::stod(fields.at(3)));
    run.csvSkipped = std::stoll(fields.back());
  }
  return run;
}

TEST(AmpFaultTest, NonFiniteStepsAreSkippedAndCountedAndTrainingConverges) {
  test::TempDir dir;
  const FaultRun clean = train(false, dir);
  const FaultRun faulty = train(true, dir);

  EXPECT_EQ(clean.summary.skippedSteps, 0);
  // inf, NaN and the overflowing spike are skipped; the finite spike is a (clipped) step.
  EXPECT_EQ(faulty.summary.skippedSteps, 3);
  EXPECT_EQ(faulty.csvSkipped, 3);
  EXPECT_EQ(faulty.summary.iterations, kEpochs * kIterations);
  EXPECT_TRUE(faulty.weightsFinite);
  ASSERT_EQ(faulty.epochLoss.size(), static_cast<size_t>(kEpochs));
  ASSERT_EQ(clean.epochLoss.size(), static_cast<size_t>(kEpochs));
  // Converges: the last epoch's loss is well below the first, and not clearly worse than the
  // clean run's (the skipped steps change the trajectory, so not equal either).
  const double first = faulty.epochLoss.front(), last = faulty.epochLoss.back();
  EXPECT_LT(last, 0.6 * first) << "first " << first << ", last " << last;
  EXPECT_LT(last, clean.epochLoss.back() + 0.15 * clean.epochLoss.front()) << "clean " << clean.epochLoss.back();
  std::cout << "AMP faults: injected 4 (inf, NaN, overflowing spike, finite spike) / skipped "
            << faulty.summary.skippedSteps << " / counted in metrics.csv " << faulty.csvSkipped
            << " / loss first epoch " << first << " -> last " << last << " (clean run " << clean.epochLoss.back()
            << ")\n";
}

}  // namespace
}  // namespace seg
