// The CUDA half of training, each test against its CPU twin where one exists: the fused
// GradScaler kernels, a train step with model, batch and Dice statistics on the GPU, fp16 and
// bf16 autocast, cuDNN benchmark mode, and a one-rank NCCL group. Compiled in every build;
// without a visible GPU each test is reported as skipped with the reason (support/Cuda.h).
// scripts/gpu_check.sh runs them on a lent GPU machine.
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/Autocast.h"
#include "losses/DiceCELoss.h"
#include "losses/DiceStatistics.h"
#include "models/UNet.h"
#include "support/Cuda.h"
#include "support/TorchTest.h"
#include "train/GradScaler.h"
#include "train/dist/DataParallel.h"
#include "train/dist/LocalLauncher.h"
#include "train/dist/ProcessGroup.h"

namespace seg {
namespace {

using test::CudaTest;

const torch::Device kGpu(torch::kCUDA, 0);

// Gradient sequences with the faults the scaler must catch.
const std::vector<std::vector<float>> kGradSteps = {
    {1.f, -2.f, 3.f}, {4.f, std::numeric_limits<float>::infinity(), 0.f}, {0.5f, 0.25f, -1.f},
    {std::numeric_limits<float>::quiet_NaN(), 1.f, 1.f}, {2.f, 2.f, 2.f}, {1.f, 1.f, 1.f}};

struct ScalerTrace {
  std::vector<double> scales;
  std::vector<int64_t> trackers;
  std::vector<bool> stepped;
  torch::Tensor weights;
};

ScalerTrace runScaler(torch::Device device) {
  GradScalerOptions o;
  o.initScale = 1024.0;
  o.growthInterval = 2;
  GradScaler scaler(o);
  auto w = torch::ones({3}, torch::TensorOptions().device(device).requires_grad(true));
  torch::optim::SGD opt({w}, torch::optim::SGDOptions(0.1));
  ScalerTrace trace;
  for (const auto& g : kGradSteps) {
    w.mutable_grad() = (torch::tensor(g) * 1024.0f).to(device);
    scaler.unscale({w});
    trace.stepped.push_back(scaler.stepAndUpdate(opt));
    trace.scales.push_back(scaler.currentScale());
    trace.trackers.push_back(scaler.growthTracker());
  }
  trace.weights = w.detach().cpu();
  return trace;
}

TEST_F(CudaTest, GradScalerFusedKernelsOnCudaMatchTheCpuTwin_CUDA) {
  const ScalerTrace gpu = runScaler(kGpu);
  const ScalerTrace cpu = runScaler(torch::kCPU);
  EXPECT_EQ(gpu.stepped, cpu.stepped);
  EXPECT_EQ(gpu.scales, cpu.scales);
  EXPECT_EQ(gpu.trackers, cpu.trackers);
  EXPECT_TRUE(torch::equal(gpu.weights, cpu.weights)) << gpu.weights << cpu.weights;
  EXPECT_EQ(gpu.stepped, (std::vector<bool>{true, false, true, false, true, true}));
}

UNet makeNet() {
  torch::manual_seed(5);
  return UNet(UNetOptions(1, 3).features({4, 8}));
}

struct Batch {
  torch::Tensor images, labels;
};

Batch makeBatch() {
  torch::manual_seed(6);
  return {torch::randn({2, 1, 16, 16, 16}), torch::randint(0, 3, {2, 1, 16, 16, 16}, torch::kLong)};
}

// One SGD step of Dice+CE (batch Dice statistics) on `device`; returns the weights after it.
std::vector<torch::Tensor> stepOn(torch::Device device) {
  UNet net = makeNet();
  net->to(device);
  const Batch b = makeBatch();
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.1));
  const auto options = DiceCELossOptions().dice(DiceLossOptions().batch(true));
  const auto loss = diceCELoss(net->forward(b.images.to(device)), b.labels.to(device), options);
  loss.backward();
  opt.step();
  std::vector<torch::Tensor> weights;
  for (const auto& p : net->parameters()) weights.push_back(p.detach().cpu());
  return weights;
}

TEST_F(CudaTest, Fp32TrainStepOnCudaMatchesTheCpu_CUDA) {
  at::globalContext().setAllowTF32CuDNN(false);  // full fp32 convolutions, as the CPU
  at::globalContext().setAllowTF32CuBLAS(false);
  const auto gpu = stepOn(kGpu);
  const auto cpu = stepOn(torch::kCPU);
  ASSERT_EQ(gpu.size(), cpu.size());
  for (size_t i = 0; i < gpu.size(); ++i) {
    test::expectTensorClose(gpu[i], cpu[i], 1e-5, 1e-4, "parameter " + std::to_string(i));
  }
}

TEST_F(CudaTest, DiceStatisticsStayOnTheGpuInFloat32UnderFloat16Autocast_CUDA) {
  UNet net = makeNet();
  net->to(kGpu);
  const Batch b = makeBatch();
  AutocastGuard autocast(c10::DeviceType::CUDA, true, torch::kHalf);
  const auto logits = net->forward(b.images.to(kGpu));
  EXPECT_EQ(logits.scalar_type(), torch::kHalf);
  EXPECT_TRUE(logits.is_cuda());
  DiceStatistics seen;
  const StatisticsReducer spy = [&](const DiceStatistics& s) {
    seen = s;
    return s;
  };
  const auto loss = diceCELoss(logits, b.labels.to(kGpu), DiceCELossOptions().dice(DiceLossOptions().batch(true)), spy);
  ASSERT_TRUE(seen.tp.defined());
  EXPECT_TRUE(seen.tp.is_cuda());
  EXPECT_EQ(seen.tp.scalar_type(), torch::kFloat32);
  EXPECT_EQ(loss.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
}

// fp16 autocast with the loss scale on the GPU: a few steps on one batch lower the loss and
// the scale never has to back off on this well-conditioned problem.
TEST_F(CudaTest, Float16AutocastWithGradScalerTrains_CUDA) {
  at::globalContext().setBenchmarkCuDNN(true);
  EXPECT_TRUE(at::globalContext().benchmarkCuDNN());
  UNet net = makeNet();
  net->to(kGpu);
  const Batch b = makeBatch();
  const auto images = b.images.to(kGpu);
  const auto labels = b.labels.to(kGpu);
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  GradScalerOptions scalerOptions;
  scalerOptions.enabled = true;
  GradScaler scaler(scalerOptions);
  std::vector<double> losses;
  for (int step = 0; step < 8; ++step) {
    opt.zero_grad();
    torch::Tensor loss;
    {
      AutocastGuard autocast(c10::DeviceType::CUDA, true, torch::kHalf);
      loss = diceCELoss(net->forward(images), labels, DiceCELossOptions());
    }
    scaler.scale(loss).backward();
    EXPECT_TRUE(scaler.unscale(net->parameters())) << "step " << step;
    scaler.stepAndUpdate(opt);
    losses.push_back(loss.item<double>());
  }
  EXPECT_LT(losses.back(), losses.front());
  EXPECT_EQ(scaler.skippedSteps(), 0);
  EXPECT_DOUBLE_EQ(scaler.currentScale(), 65536.0);
  EXPECT_EQ(scaler.growthTracker(), 8);
}

TEST_F(CudaTest, Bfloat16AutocastRunsTheNetworkInBfloat16_CUDA) {
  UNet net = makeNet();
  net->to(kGpu);
  AutocastGuard autocast(c10::DeviceType::CUDA, true, torch::kBFloat16);
  const auto logits = net->forward(makeBatch().images.to(kGpu));
  EXPECT_EQ(logits.scalar_type(), torch::kBFloat16);
}

// One rank of NCCL through the same rendezvous as multi-node training (TCPStore, rank 0
// serving it): the collectives of a training step run on the GPU.
TEST_F(CudaTest, OneRankNcclGroupRunsTheCollectivesOnTheGpu_CUDA) {
  dist::LaunchEnv env;
  env.rank = 0;
  env.worldSize = 1;
  env.masterAddr = "127.0.0.1";
  env.masterPort = dist::findFreePort();
  env.source = "test";
  dist::ProcessGroupOptions options;
  options.backend = "nccl";
  options.timeout = std::chrono::seconds(60);
  auto group = dist::ProcessGroup::create(env, options, kGpu);
  EXPECT_EQ(group->backend(), "nccl");
  auto t = torch::arange(4, torch::TensorOptions().dtype(torch::kFloat32).device(kGpu));
  group->allReduceSum(t);
  EXPECT_TRUE(torch::equal(t.cpu(), torch::arange(4, torch::kFloat32)));
  dist::DataParallel parallel(group);
  UNet net = makeNet();
  net->to(kGpu);
  parallel.broadcastFromMain(*net);
  const Batch b = makeBatch();
  diceCELoss(net->forward(b.images.to(kGpu)), b.labels.to(kGpu), DiceCELossOptions(), parallel.statisticsReducer())
      .backward();
  parallel.averageGradients(net->parameters());
  for (const auto& p : net->parameters()) EXPECT_TRUE(p.grad().is_cuda());
  group->shutdown();
}

}  // namespace
}  // namespace seg
