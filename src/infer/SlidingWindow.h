#pragma once
// Sliding-window inference over a whole volume, as nnU-Net v2
// (inference/sliding_window_prediction.py): evenly spread tiles with the requested
// overlap, Gaussian importance weights (sigma = patch/8), logits accumulated in fp32
// and divided by the accumulated weight; optional mirror test-time augmentation
// (logits averaged over all 8 axis flips).
#include <torch/types.h>

#include <array>
#include <functional>
#include <vector>

namespace seg {

struct SlidingWindowOptions {
  std::array<int64_t, 3> patchZYX{64, 64, 64};
  double overlap = 0.5;       // fraction of the patch shared by neighbouring tiles, [0, 1)
  int64_t tileBatch = 2;      // tiles per network call
  // CPU only: tiles are spread over this many worker threads, each running the network
  // with threads/workers intra-op threads (at least 1), instead of one call at a time on
  // all threads. Small 3D convolutions scale poorly over OpenMP threads (barriers, norm
  // and activation layers), whole tiles in parallel do not. The accumulation stays in
  // tile order, so the result does not depend on the worker count. 1 = off; on CUDA
  // always 1. The network must be safe to call from several threads (an eval-mode
  // module is).
  int64_t workers = 1;
  double sigmaScale = 1.0 / 8.0;
  bool mirror = false;
  torch::Device device = torch::kCPU;
};

using Network = std::function<torch::Tensor(const torch::Tensor&)>;

// Tile start positions along one axis of length `size` for a patch of `patch`.
std::vector<int64_t> slidingWindowSteps(int64_t size, int64_t patch, double overlap);

// Separable Gaussian weights (Z, Y, X) peaking at 1 in the centre; no zeros.
torch::Tensor gaussianImportance(const std::array<int64_t, 3>& patchZYX, double sigmaScale);

// The tile-worker count `requested` stands for: 0 = auto (CPU: one worker per intra-op
// thread, at most 4, so activation memory stays bounded on many-core machines; CUDA: 1).
int64_t resolveTileWorkers(int64_t requested, const torch::Device& device);

// image (C, Z, Y, X) float32 on the CPU -> logits (K, Z, Y, X) float32 on the CPU.
// Runs in inference mode (no autograd records) on every thread it uses.
torch::Tensor slidingWindowInference(const torch::Tensor& image, const Network& network,
                                     const SlidingWindowOptions& options);

}  // namespace seg
