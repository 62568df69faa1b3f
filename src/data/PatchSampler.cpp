#include "data/PatchSampler.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/Error.h"
#include "core/Random.h"
#include "data/SpatialCrop.h"
#include "core/ConnectedComponents.h"

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
  if (options_.worldSize < 1 || options_.rank < 0 || options_.rank >= options_.worldSize) {
    throw InputError("patch sampler: rank " + std::to_string(options_.rank) + " of " +
                     std::to_string(options_.worldSize) + " processes");
  }
  // A sample's random stream is batchIndex * 1024 + slot (see fillSample).
  if (options_.batchSize * options_.worldSize > 1024) {
    throw InputError("train.batch_size: " + std::to_string(options_.batchSize) + " per process x " +
                     std::to_string(options_.worldSize) + " processes exceeds the global batch limit of 1024");
  }
  channels_ = cases_->front().image.channels;
  for (const auto& c : *cases_) {
    if (c.image.channels != channels_) {
      throw InputError("case '" + c.id + "' has " + std::to_string(c.image.channels) +
                       " channels but case '" + cases_->front().id + "' has " + std::to_string(channels_));
    }
    if (c.label.data.empty()) throw InputError("training case '" + c.id + "' has no label");
    std::vector<std::vector<int64_t>> perClass;
    if (options_.labels.hasRegions()) {
      // The ignore label is in no region (LabelEncoding::check).
      const auto bits = options_.labels.regionBits();
      perClass.resize(options_.labels.regions.size());
      for (size_t i = 0; i < c.label.data.size(); ++i) {
        const uint64_t b = bits[c.label.data[i]];
        if (b == 0) continue;
        for (size_t r = 0; r < perClass.size(); ++r)
          if (b & (uint64_t{1} << r)) perClass[r].push_back(static_cast<int64_t>(i));
      }
    } else {
      for (size_t i = 0; i < c.label.data.size(); ++i) {
        const int v = c.label.data[i];
        if (v == 0 || v == options_.labels.ignoreLabel) continue;
        if (static_cast<int>(perClass.size()) < v) perClass.resize(v);
        perClass[v - 1].push_back(static_cast<int64_t>(i));
      }
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
  if (options_.foregroundSampling == ForegroundSampling::LesionUniform) findLesions();
}

void PatchSampler::findLesions() {
  constexpr size_t kMaxVoxelsPerLesion = 2000;
  for (size_t k = 0; k < cases_->size(); ++k) {
    const LoadedCase& c = (*cases_)[k];
    for (size_t cls = 1; cls <= foreground_[k].size(); ++cls) {
      if (foreground_[k][cls - 1].empty()) continue;  // absent (or the ignore label)
      // A region's lesions are the components of its mask (nested regions share voxels).
      const Components comps =
          options_.labels.hasRegions()
              ? connectedComponents(regionMask(c.label, options_.labels, cls - 1).data, c.label.geometry.size, 1, 26)
              : connectedComponents(c.label.data, c.label.geometry.size, static_cast<int>(cls), 26);
      std::vector<std::vector<int64_t>> voxels(comps.count);
      for (size_t i = 0; i < comps.ids.size(); ++i)
        if (comps.ids[i] > 0) voxels[comps.ids[i] - 1].push_back(static_cast<int64_t>(i));
      for (auto& v : voxels) {
        if (v.size() > kMaxVoxelsPerLesion) {
          std::vector<int64_t> kept;
          const double step = static_cast<double>(v.size()) / kMaxVoxelsPerLesion;
          for (size_t j = 0; j < kMaxVoxelsPerLesion; ++j) kept.push_back(v[static_cast<size_t>(j * step)]);
          v.swap(kept);
        }
        lesions_.push_back({k, std::move(v)});
      }
    }
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
    fillSample(batchIndex, options_.rank * b + s, batch.images.data_ptr<float>() + s * imageStride,
               batch.labels.data_ptr<int64_t>() + s * labelStride);
  }
  return batch;
}

void PatchSampler::fillSample(uint64_t batchIndex, int64_t slot, float* image, int64_t* label) const {
  Rng rng(options_.seed, batchIndex * 1024 + static_cast<uint64_t>(slot));
  const auto& p = options_.patchZYX;
  const int64_t b = options_.batchSize * options_.worldSize;  // the global batch
  const bool forced = b == 1 ? rng.chance(options_.foregroundFraction)
                             : slot >= static_cast<int64_t>(std::llround(b * (1.0 - options_.foregroundFraction)));
  size_t caseIndex = rng.below(cases_->size());
  int64_t centreFlat = -1;
  if (forced && options_.foregroundSampling == ForegroundSampling::LesionUniform && !lesions_.empty()) {
    const auto& lesion = lesions_[rng.below(lesions_.size())];
    caseIndex = lesion.caseIndex;
    centreFlat = lesion.voxels[rng.below(lesion.voxels.size())];
  } else if (forced) {
    // nnU-Net picks a class first, then a voxel of it, so rare classes are seen too.
    const auto& fg = foreground_[caseIndex];
    std::vector<size_t> present;
    for (size_t k = 0; k < fg.size(); ++k)
      if (!fg[k].empty()) present.push_back(k);
    if (!present.empty()) {
      const auto& locations = fg[present[rng.below(present.size())]];
      centreFlat = locations[rng.below(locations.size())];
    }
  }
  const LoadedCase& c = (*cases_)[caseIndex];
  const auto& g = c.image.geometry;
  const std::array<int64_t, 3> dims{g.size[2], g.size[1], g.size[0]};  // z, y, x

  std::array<int64_t, 3> start{};
  for (int a = 0; a < 3; ++a) {
    if (centreFlat >= 0) {
      const int64_t centre = a == 0 ? centreFlat / (dims[1] * dims[2])
                             : a == 1 ? (centreFlat / dims[2]) % dims[1]
                                      : centreFlat % dims[2];
      start[a] = centre - p[a] / 2;
      start[a] = dims[a] >= p[a] ? std::clamp<int64_t>(start[a], 0, dims[a] - p[a]) : (dims[a] - p[a]) / 2;
    } else {
      start[a] = dims[a] >= p[a] ? static_cast<int64_t>(rng.below(dims[a] - p[a] + 1)) : (dims[a] - p[a]) / 2;
    }
  }

  const SpatialParams spatial = drawSpatial(options_.augment, rng);
  const int64_t voxels = dims[0] * dims[1] * dims[2];
  const int64_t patchVoxels = p[0] * p[1] * p[2];
  // Labels are cropped and augmented as uint8 (8x less memory traffic than the int64
  // batch tensor) and widened once at the end.
  static thread_local std::vector<uint8_t> labelBuffer;
  labelBuffer.resize(static_cast<size_t>(patchVoxels));
  uint8_t* lab = labelBuffer.data();
  if (!spatial.active) {
    // Row by row: the part of each row inside the volume is one contiguous copy; outside
    // is zero (the mean after z-scoring) and background.
    const int64_t xs = std::clamp<int64_t>(-start[2], 0, p[2]);
    const int64_t xe = std::clamp<int64_t>(dims[2] - start[2], xs, p[2]);
    for (int64_t z = 0; z < p[0]; ++z) {
      const int64_t sz = start[0] + z;
      for (int64_t y = 0; y < p[1]; ++y) {
        const int64_t sy = start[1] + y;
        const int64_t dst = (z * p[1] + y) * p[2];
        const bool rowInside = sz >= 0 && sz < dims[0] && sy >= 0 && sy < dims[1] && xe > xs;
        if (!rowInside) {
          for (int64_t ch = 0; ch < channels_; ++ch) std::fill_n(image + ch * patchVoxels + dst, p[2], 0.0f);
          std::fill_n(lab + dst, p[2], uint8_t{0});
          continue;
        }
        const int64_t src = (sz * dims[1] + sy) * dims[2] + start[2];
        for (int64_t ch = 0; ch < channels_; ++ch) {
          float* out = image + ch * patchVoxels + dst;
          const float* in = c.image.data.data() + ch * voxels + src;
          std::fill(out, out + xs, 0.0f);
          std::copy(in + xs, in + xe, out + xs);
          std::fill(out + xe, out + p[2], 0.0f);
        }
        std::fill(lab + dst, lab + dst + xs, uint8_t{0});
        std::copy(c.label.data.data() + src + xs, c.label.data.data() + src + xe, lab + dst + xs);
        std::fill(lab + dst + xe, lab + dst + p[2], uint8_t{0});
      }
    }
  } else {
    // Rotated / scaled read around the patch centre (data/SpatialCrop.h).
    std::array<double, 3> centre{};
    for (int a = 0; a < 3; ++a) centre[a] = start[a] + (p[a] - 1) / 2.0;
    const CropSource source{c.image.data.data(), channels_, c.label.data.data(), dims};
    cropAffine(source, centre, spatial.matrix, p, image, lab);
  }
  augmentPatch(options_.augment, rng, image, channels_, lab, p);
  std::copy(lab, lab + patchVoxels, label);
}

}  // namespace seg
