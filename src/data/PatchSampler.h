#pragma once
// Draws training batches of patches from in-memory cases. A batch is a pure
// function of (seed, batch index): threads may build batches in any order and a
// resumed run continues with exactly the batches an uninterrupted run would see.
#include <torch/types.h>

#include <array>
#include <memory>
#include <vector>

#include "data/CaseLoader.h"

namespace seg {

struct Batch {
  torch::Tensor images;  // (B, C, Z, Y, X) float32
  torch::Tensor labels;  // (B, 1, Z, Y, X) int64
};

struct PatchSamplerOptions {
  std::array<int64_t, 3> patchZYX{64, 64, 64};
  int64_t batchSize = 2;
  // Share of patches centred on a foreground voxel (nnU-Net's
  // oversample_foreground_percent: the last round(B * p) samples of each batch; with
  // B == 1 a sample is forced with probability p).
  double foregroundFraction = 0.33;
  bool augment = true;   // random flips on each axis, intensity scale
  uint64_t seed = 0;
};

class PatchSampler {
 public:
  PatchSampler(std::shared_ptr<const std::vector<LoadedCase>> cases, PatchSamplerOptions options);
  Batch sample(uint64_t batchIndex) const;
  const PatchSamplerOptions& options() const { return options_; }

 private:
  void fillSample(uint64_t batchIndex, int64_t slot, float* image, int64_t* label) const;
  std::shared_ptr<const std::vector<LoadedCase>> cases_;
  PatchSamplerOptions options_;
  // Per case, per foreground class (index c-1), flat voxel indices (subsampled).
  std::vector<std::vector<std::vector<int64_t>>> foreground_;
  int64_t channels_ = 1;
};

}  // namespace seg
