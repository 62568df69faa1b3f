#include "data/PatchSampler.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/Error.h"
#include "core/Random.h"
#include "metrics/SegMetrics.h"

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
  if (options_.foregroundSampling == ForegroundSampling::LesionUniform) findLesions();
}

void PatchSampler::findLesions() {
  constexpr size_t kMaxVoxelsPerLesion = 2000;
  for (size_t k = 0; k < cases_->size(); ++k) {
    const LoadedCase& c = (*cases_)[k];
    for (size_t cls = 1; cls <= foreground_[k].size(); ++cls) {
      const Components comps = connectedComponents(c.label.data, c.label.geometry.size, static_cast<int>(cls), 26);
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
    // Rotated / scaled read around the patch centre: linear interpolation for the
    // image, nearest neighbour for the label, zero outside the volume. The source
    // position advances by the matrix's x column per output voxel.
    const auto& m = spatial.matrix;
    std::array<double, 3> centre{};
    for (int a = 0; a < 3; ++a) centre[a] = start[a] + (p[a] - 1) / 2.0;
    const int64_t rowStride = dims[2], planeStride = dims[1] * dims[2];
    for (int64_t z = 0; z < p[0]; ++z)
      for (int64_t y = 0; y < p[1]; ++y) {
        const double oz = z - (p[0] - 1) / 2.0, oy = y - (p[1] - 1) / 2.0, ox0 = -(p[2] - 1) / 2.0;
        double sz = centre[0] + m[0] * oz + m[1] * oy + m[2] * ox0;
        double sy = centre[1] + m[3] * oz + m[4] * oy + m[5] * ox0;
        double sx = centre[2] + m[6] * oz + m[7] * oy + m[8] * ox0;
        for (int64_t x = 0; x < p[2]; ++x, sz += m[2], sy += m[5], sx += m[8]) {
          const int64_t dst = (z * p[1] + y) * p[2] + x;
          const int64_t nz = static_cast<int64_t>(std::floor(sz + 0.5)), ny = static_cast<int64_t>(std::floor(sy + 0.5)),
                        nx = static_cast<int64_t>(std::floor(sx + 0.5));
          const bool nearestInside = nz >= 0 && nz < dims[0] && ny >= 0 && ny < dims[1] && nx >= 0 && nx < dims[2];
          lab[dst] = nearestInside ? c.label.data[nz * planeStride + ny * rowStride + nx] : 0;
          const double fz0 = std::floor(sz), fy0 = std::floor(sy), fx0 = std::floor(sx);
          const int64_t z0 = static_cast<int64_t>(fz0), y0 = static_cast<int64_t>(fy0), x0 = static_cast<int64_t>(fx0);
          const float fz = static_cast<float>(sz - fz0), fy = static_cast<float>(sy - fy0), fx = static_cast<float>(sx - fx0);
          const bool allInside = z0 >= 0 && z0 + 1 < dims[0] && y0 >= 0 && y0 + 1 < dims[1] && x0 >= 0 && x0 + 1 < dims[2];
          for (int64_t ch = 0; ch < channels_; ++ch) {
            const float* v = c.image.data.data() + ch * voxels;
            float acc = 0.0f;
            if (allInside) {
              const float* q = v + z0 * planeStride + y0 * rowStride + x0;
              const float c00 = q[0] + fx * (q[1] - q[0]);
              const float c01 = q[rowStride] + fx * (q[rowStride + 1] - q[rowStride]);
              const float c10 = q[planeStride] + fx * (q[planeStride + 1] - q[planeStride]);
              const float c11 = q[planeStride + rowStride] + fx * (q[planeStride + rowStride + 1] - q[planeStride + rowStride]);
              const float c0 = c00 + fy * (c01 - c00), c1 = c10 + fy * (c11 - c10);
              acc = c0 + fz * (c1 - c0);
            } else {
              for (int dz = 0; dz < 2; ++dz)
                for (int dy = 0; dy < 2; ++dy)
                  for (int dx = 0; dx < 2; ++dx) {
                    const int64_t qz = z0 + dz, qy = y0 + dy, qx = x0 + dx;
                    if (qz < 0 || qz >= dims[0] || qy < 0 || qy >= dims[1] || qx < 0 || qx >= dims[2]) continue;
                    const float w = (dz ? fz : 1 - fz) * (dy ? fy : 1 - fy) * (dx ? fx : 1 - fx);
                    acc += w * v[qz * planeStride + qy * rowStride + qx];
                  }
            }
            image[ch * patchVoxels + dst] = acc;
          }
        }
      }
  }
  augmentPatch(options_.augment, rng, image, channels_, lab, p);
  std::copy(lab, lab + patchVoxels, label);
}

}  // namespace seg
