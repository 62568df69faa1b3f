// P1: time of one training step (forward, Dice+CE loss, backward, SGD) of segtrain's
// U-Net on a fixed random batch. scripts/bench.sh runs it next to the identical
// model in Python (scripts/bench/train_step.py) and reports the ratio.
// Usage: seg_train_step FEATURES(comma) PATCH_Z PATCH_Y PATCH_X BATCH THREADS STEPS [fp32|bf16|fp16] [cpu|cuda]
// On CUDA (P4, scripts/gpu_check.sh): cuDNN benchmark mode, fp16 with a GradScaler-free
// step (fixed scale is irrelevant for timing), timings bracketed by device synchronisation.
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <iostream>
#include <sstream>

#include "core/Autocast.h"
#include "losses/DiceCELoss.h"
#include "models/UNet.h"

int main(int argc, char** argv) {
  if (argc < 8) {
    std::cerr << "usage: seg_train_step FEATURES PATCH_Z PATCH_Y PATCH_X BATCH THREADS STEPS [fp32|bf16|fp16] [cpu|cuda]\n";
    return 2;
  }
  std::vector<int64_t> features;
  std::stringstream list(argv[1]);
  for (std::string item; std::getline(list, item, ',');) features.push_back(std::stoll(item));
  const int64_t z = std::stoll(argv[2]), y = std::stoll(argv[3]), x = std::stoll(argv[4]);
  const int64_t batch = std::stoll(argv[5]);
  const int threads = std::stoi(argv[6]);
  const int steps = std::stoi(argv[7]);
  const std::string mode = argc > 8 ? argv[8] : "fp32";
  const bool autocast = mode == "bf16" || mode == "fp16";
  const auto autocastDtype = mode == "fp16" ? c10::ScalarType::Half : c10::ScalarType::BFloat16;
  const torch::Device device(argc > 9 ? argv[9] : "cpu");
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  torch::set_num_threads(threads);
  torch::manual_seed(0);

  seg::UNet net(seg::UNetOptions(1, 2).features(features));
  net->to(device);
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(1e-2).momentum(0.99).nesterov(true).weight_decay(3e-5));
  const auto images = torch::randn({batch, 1, z, y, x}).to(device);
  const auto labels = (torch::rand({batch, 1, z, y, x}) < 0.1).to(torch::kLong).to(device);
  const auto options = seg::DiceCELossOptions().dice(seg::DiceLossOptions().batch(true).include_background(false));

  auto step = [&] {
    opt.zero_grad();
    torch::Tensor loss;
    {
      seg::AutocastGuard guard(device.type(), autocast, autocastDtype);
      loss = seg::diceCELoss(net->forward(images), labels, options);
    }
    loss.backward();
    opt.step();
    return loss.item<double>();
  };
  for (int i = 0; i < 2; ++i) step();  // warm-up: allocator and oneDNN primitive caches
  if (device.is_cuda()) torch::cuda::synchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  if (device.is_cuda()) torch::cuda::synchronize();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / steps;
  std::cout << "{\"impl\": \"segtrain\", \"ms_per_step\": " << ms << ", \"mode\": \"" << mode << "\", \"device\": \"" << device.str() << "\"}\n";
  return 0;
}
