#include "data/PatchSampler.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/Error.h"
#include "core/Random.h"

namespace seg {

namespace {
// nnU-Net keeps at most 10,000 sampled locations per class and case; enough to pick
// patch centres uniformly over a lesion while bounding memory on large volumes.
constexpr size_t kMaxLocationsPerClass = 10000;
}  // namespace

PatchSampler::PatchSampler(std::shared_ptr<const std::vector<LoadedCase>> cases,
                           PatchSamplerOptions options)
    : cases_(std::move(cases)), options_(options) {
  if (!cases_ || cases_->empty()) throw InputError("patch sampler: no training cases");
  channels_ = cases_->front().image.channels;
  for (const auto& c : *cases_) {
    if (c.image.channels != channels_) {
      throw InputError("case '" + c.id + "' has " + std::to_string(c.image.channels) +
                       " channels but case '" + cases_->front().id + "' has " + std::to_string(channels_));
    }
    if (c.label.data.empty()) throw InputError("training case '" + c.id + "' has no label");
    std::vector<std::vector<int64_t>> perClass;
    for (size_t i = 0; i < c.label.data.size(); ++i) {
      const int v = c.label.data[i];
      if (v == 0) continue;
      if (static_cast<int>(perClass.size()) < v) perClass.resize(v);
      perClass[v - 1].push_back(static_cast<int64_t>(i));
    }
    for (auto& locations : perClass) {
      if (locations.size() <= kMaxLocationsPerClass) continue;
      // Even stride keeps the subsample deterministic and spread over all lesions.
      std::vector<int64_t> kept;
      const double step = static_cast<double>(locations.size()) / kMaxLocationsPerClass;
      for (size_t k = 0; k < kMaxLocationsPerClass; ++k) kept.push_back(locations[static_cast<size_t>(k * step)]);
      locations.swap(kept);
    }
    foreground_.push_back(std::move(perClass));
  }
}

Batch PatchSampler::sample(uint64_t batchIndex) const {
  const auto& p = options_.patchZYX;
  const int64_t b = options_.batchSize;
  Batch batch;
  batch.images = torch::empty({b, channels_, p[0], p[1], p[2]}, torch::kFloat32);
  batch.labels = torch::empty({b, 1, p[0], p[1], p[2]}, torch::kInt64);
  const int64_t imageStride = channels_ * p[0] * p[1] * p[2];
  const int64_t labelStride = p[0] * p[1] * p[2];
  for (int64_t s = 0; s < b; ++s) {
    fillSample(batchIndex, s, batch.images.data_ptr<float>() + s * imageStride,
               batch.labels.data_ptr<int64_t>() + s * labelStride);
  }
  return batch;
}

void PatchSampler::fillSample(uint64_t batchIndex, int64_t slot, float* image, int64_t* label) const {
  Rng rng(options_.seed, batchIndex * 1024 + static_cast<uint64_t>(slot));
  const auto& p = options_.patchZYX;
  const int64_t b = options_.batchSize;
  const bool forced = b == 1 ? rng.chance(options_.foregroundFraction)
                             : slot >= static_cast<int64_t>(std::llround(b * (1.0 - options_.foregroundFraction)));
  const size_t caseIndex = rng.below(cases_->size());
  const LoadedCase& c = (*cases_)[caseIndex];
  const auto& g = c.image.geometry;
  const std::array<int64_t, 3> dims{g.size[2], g.size[1], g.size[0]};  // z, y, x

  std::array<int64_t, 3> start{};
  const auto& fg = foreground_[caseIndex];
  std::vector<size_t> present;
  for (size_t k = 0; k < fg.size(); ++k)
    if (!fg[k].empty()) present.push_back(k);
  if (forced && !present.empty()) {
    // nnU-Net picks a class first, then a voxel of it, so rare classes are seen too.
    const auto& locations = fg[present[rng.below(present.size())]];
    int64_t flat = locations[rng.below(locations.size())];
    const std::array<int64_t, 3> centre{flat / (dims[1] * dims[2]), (flat / dims[2]) % dims[1], flat % dims[2]};
    for (int a = 0; a < 3; ++a) {
      start[a] = centre[a] - p[a] / 2;
      if (dims[a] >= p[a]) start[a] = std::clamp<int64_t>(start[a], 0, dims[a] - p[a]);
      else start[a] = (dims[a] - p[a]) / 2;
    }
  } else {
    for (int a = 0; a < 3; ++a) {
      start[a] = dims[a] >= p[a] ? static_cast<int64_t>(rng.below(dims[a] - p[a] + 1)) : (dims[a] - p[a]) / 2;
    }
  }

  std::array<bool, 3> flip{false, false, false};
  double scale = 1.0;
  if (options_.augment) {
    for (auto& f : flip) f = rng.chance(0.5);
    scale = rng.uniform(0.9, 1.1);  // multiplicative brightness, as nnU-Net's (0.75, 1.25) but milder
  }

  const int64_t voxels = dims[0] * dims[1] * dims[2];
  for (int64_t z = 0; z < p[0]; ++z) {
    const int64_t sz = start[0] + (flip[0] ? p[0] - 1 - z : z);
    for (int64_t y = 0; y < p[1]; ++y) {
      const int64_t sy = start[1] + (flip[1] ? p[1] - 1 - y : y);
      const bool rowInside = sz >= 0 && sz < dims[0] && sy >= 0 && sy < dims[1];
      for (int64_t x = 0; x < p[2]; ++x) {
        const int64_t sx = start[2] + (flip[2] ? p[2] - 1 - x : x);
        const int64_t dst = (z * p[1] + y) * p[2] + x;
        if (!rowInside || sx < 0 || sx >= dims[2]) {
          // Outside the volume: zero is the mean after z-scoring, label background.
          for (int64_t ch = 0; ch < channels_; ++ch) image[ch * p[0] * p[1] * p[2] + dst] = 0.0f;
          label[dst] = 0;
          continue;
        }
        const int64_t src = (sz * dims[1] + sy) * dims[2] + sx;
        for (int64_t ch = 0; ch < channels_; ++ch)
          image[ch * p[0] * p[1] * p[2] + dst] = static_cast<float>(c.image.data[ch * voxels + src] * scale);
        label[dst] = c.label.data[src];
      }
    }
  }
}

}  // namespace seg
