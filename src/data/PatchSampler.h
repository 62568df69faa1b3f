#pragma once
// Draws training batches of patches from in-memory cases. A batch is a pure
// function of (seed, batch index): threads may build batches in any order and a
// resumed run continues with exactly the batches an uninterrupted run would see.
#include <torch/types.h>

#include <array>
#include <memory>
#include <vector>

#include "core/LabelEncoding.h"
#include "data/Augmenter.h"
#include "data/CaseLoader.h"

namespace seg {

struct Batch {
  torch::Tensor images;  // (B, C, Z, Y, X) float32
  torch::Tensor labels;  // (B, 1, Z, Y, X) int64
};

// How a forced-foreground patch picks its centre.
enum class ForegroundSampling {
  // nnU-Net: a class present in the case, then a voxel of that class. Large lesions
  // hold most voxels, so they are the centre of most patches.
  ClassVoxel,
  // A lesion (26-connected component of a class) uniformly over all lesions of all
  // training cases, then a voxel of it: a 3-voxel lesion is a patch centre as often as
  // a 30,000-voxel one.
  LesionUniform,
};

struct PatchSamplerOptions {
  std::array<int64_t, 3> patchZYX{64, 64, 64};
  int64_t batchSize = 2;
  // Share of patches centred on a foreground voxel (nnU-Net's
  // oversample_foreground_percent: the last round(B * p) samples of each batch; with
  // B == 1 a sample is forced with probability p).
  double foregroundFraction = 0.33;
  ForegroundSampling foregroundSampling = ForegroundSampling::ClassVoxel;
  // What counts as foreground for forced patches: with regions, each region is one
  // foreground "class" (nnU-Net samples its foreground_regions); the ignore label is never
  // foreground. Labels outside the volume (patches that overhang it) are 0, background, as
  // nnU-Net's loader leaves them (its -1 padding becomes 0): there is no tissue there, which
  // is what the sliding window's padding shows the network at inference too.
  LabelEncoding labels;
  AugmentOptions augment;  // augment.enabled = false for validation patches
  uint64_t seed = 0;
  // Data parallelism: this process draws slots [rank * batchSize, (rank+1) * batchSize)
  // of a global batch of worldSize * batchSize (the foreground rule above applies to
  // the global batch, as nnU-Net's DDP trainer does). W ranks with batch b thus see
  // exactly the samples one process with batch W*b sees, distinct on every rank.
  int64_t rank = 0;
  int64_t worldSize = 1;
};

class PatchSampler {
 public:
  PatchSampler(std::shared_ptr<const std::vector<LoadedCase>> cases, PatchSamplerOptions options);
  Batch sample(uint64_t batchIndex) const;
  const PatchSamplerOptions& options() const { return options_; }
  size_t lesionCount() const { return lesions_.size(); }

 private:
  void fillSample(uint64_t batchIndex, int64_t slot, float* image, int64_t* label) const;
  std::shared_ptr<const std::vector<LoadedCase>> cases_;
  PatchSamplerOptions options_;
  void findLesions();
  // Per case, per foreground group (class c at index c-1, or region r at r), flat voxel
  // indices (subsampled).
  std::vector<std::vector<std::vector<int64_t>>> foreground_;
  struct LesionVoxels {
    size_t caseIndex;
    std::vector<int64_t> voxels;  // flat indices (subsampled)
  };
  std::vector<LesionVoxels> lesions_;
  int64_t channels_ = 1;
};

}  // namespace seg
