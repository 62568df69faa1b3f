// Losses' forward + backward time (issue 8, P6): Dice, Dice+CE and Generalized Dice on
// fixed logits (B, C, Z, Y, X) and integer labels, milliseconds per forward+backward.
// scripts/bench.sh runs it next to scripts/bench/loss_step.py (the same formulas in
// Python on the venv's torch; design.md section 5) and reports the ratios.
// On a GPU (DEVICE cuda) scripts/gpu_check.sh uses it for P7: the Dice statistics' forward +
// backward against the memory-bandwidth bound (bytes: logits and labels read once, the
// logit gradient written once; the JSON carries the byte count).
// Usage: seg_loss_step BATCH CLASSES SIZE THREADS REPEATS [DEVICE (cpu)]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <torch/cuda.h>

#include "losses/DiceCELoss.h"
#include "losses/DiceLoss.h"
#include "losses/GeneralizedDiceLoss.h"

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: seg_loss_step BATCH CLASSES SIZE THREADS REPEATS [DEVICE]\n";
    return 2;
  }
  const int64_t batch = std::stoll(argv[1]), classes = std::stoll(argv[2]), size = std::stoll(argv[3]);
  torch::set_num_threads(std::stoi(argv[4]));
  const int repeats = std::stoi(argv[5]);
  const torch::Device device(argc > 6 ? argv[6] : "cpu");
  const bool cuda = device.is_cuda();
  torch::manual_seed(0);
  const auto logits = torch::randn({batch, classes, size, size, size}).to(device);
  const auto labels = torch::randint(0, classes, {batch, 1, size, size, size}, torch::kLong).to(device);
  const auto sync = [&] {
    if (cuda) torch::cuda::synchronize();
  };
  using Fn = std::function<torch::Tensor(const torch::Tensor&)>;
  const std::vector<std::pair<std::string, Fn>> losses{
      {"dice", [&](const torch::Tensor& x) { return seg::diceLoss(x, labels, seg::DiceLossOptions().batch(true)); }},
      {"dice_ce", [&](const torch::Tensor& x) {
         return seg::diceCELoss(x, labels, seg::DiceCELossOptions().dice(seg::DiceLossOptions().batch(true)));
       }},
      {"gdl", [&](const torch::Tensor& x) {
         return seg::generalizedDiceLoss(x, labels, seg::GeneralizedDiceLossOptions().batch(true));
       }},
  };
  std::cout << "{";
  for (size_t i = 0; i < losses.size(); ++i) {
    std::vector<double> ms;
    for (int r = -1; r < repeats; ++r) {  // r = -1: warm-up
      auto x = logits.clone().requires_grad_(true);
      sync();
      const auto t0 = std::chrono::steady_clock::now();
      losses[i].second(x).backward();
      sync();
      const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (r >= 0) ms.push_back(t);
    }
    std::cout << (i ? ", " : "") << "\"" << losses[i].first << "\": " << *std::min_element(ms.begin(), ms.end());
  }
  const double voxels = static_cast<double>(batch) * size * size * size;
  std::cout << ", \"device\": \"" << device.str() << "\", \"min_bytes\": " << voxels * (classes * 4.0 * 2 + 8) << "}\n";
  return 0;
}
