#include "data/Augmenter.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "data/AugmentCounters.h"
#include "data/AugmentKernels.h"

namespace seg {

namespace {

constexpr double kPi = 3.14159265358979323846;

// data/AugmentCounters.h: one relaxed increment per resampled sample.
std::atomic<uint64_t> gSpatialDraws{0}, gRotationDraws{0}, gScalingDraws{0};

std::array<double, 9> multiply(const std::array<double, 9>& a, const std::array<double, 9>& b) {
  std::array<double, 9> c{};
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3; ++k)
      for (int col = 0; col < 3; ++col) c[r * 3 + col] += a[r * 3 + k] * b[k * 3 + col];
  return c;
}

std::array<double, 9> rotation(int axis, double angle) {
  const double c = std::cos(angle), s = std::sin(angle);
  switch (axis) {
    case 0: return {1, 0, 0, 0, c, -s, 0, s, c};
    case 1: return {c, 0, s, 0, 1, 0, -s, 0, c};
    default: return {c, -s, 0, s, c, 0, 0, 0, 1};
  }
}

}  // namespace

SpatialDrawCounts spatialDrawCounts() {
  SpatialDrawCounts c;
  c.spatial = gSpatialDraws.load(std::memory_order_relaxed);
  c.rotated = gRotationDraws.load(std::memory_order_relaxed);
  c.scaled = gScalingDraws.load(std::memory_order_relaxed);
  return c;
}

SpatialParams drawSpatial(const AugmentOptions& o, Rng& rng) {
  SpatialParams p;
  if (!o.enabled) return p;
  const bool rotate = rng.chance(o.pRotation);
  const bool scale = rng.chance(o.pScaling);
  if (!rotate && !scale) return p;
  p.active = true;
  gSpatialDraws.fetch_add(1, std::memory_order_relaxed);
  if (rotate) gRotationDraws.fetch_add(1, std::memory_order_relaxed);
  if (scale) gScalingDraws.fetch_add(1, std::memory_order_relaxed);
  if (rotate) {
    const double limit = o.rotationDegrees * kPi / 180.0;
    for (int axis = 0; axis < 3; ++axis) p.matrix = multiply(p.matrix, rotation(axis, rng.uniform(-limit, limit)));
  }
  if (scale) {
    // A zoom factor s shows the content s times larger: read from 1/s of the extent.
    const double s = rng.uniform(o.scaleLow, o.scaleHigh);
    for (auto& m : p.matrix) m /= s;
  }
  return p;
}

template <typename TLabel>
void augmentPatch(const AugmentOptions& o, Rng& rng, float* image, int64_t channels, TLabel* label,
                  const std::array<int64_t, 3>& d) {
  if (!o.enabled) return;
  const int64_t n = d[0] * d[1] * d[2];
  if (rng.chance(o.pNoise)) addNoise(image, n * channels, static_cast<float>(std::sqrt(rng.uniform(0.0, o.noiseVariance))), rng);
  if (rng.chance(o.pBlur)) {
    for (int64_t c = 0; c < channels; ++c) {
      if (!rng.chance(0.5)) continue;
      for (int axis = 0; axis < 3; ++axis) blurAxis(image + c * n, d, axis, rng.uniform(0.5, 1.0));
    }
  }
  if (rng.chance(o.pBrightness)) {
    for (int64_t c = 0; c < channels; ++c) {
      const float f = static_cast<float>(rng.uniform(0.75, 1.25));
      for (int64_t i = 0; i < n; ++i) image[c * n + i] *= f;
    }
  }
  if (rng.chance(o.pContrast)) {
    for (int64_t c = 0; c < channels; ++c) {
      float* v = image + c * n;
      const float f = static_cast<float>(rng.uniform(0.75, 1.25));
      const Moments m = moments(v, n);
      const float mean = static_cast<float>(m.mean), lo = m.lo, hi = m.hi;
      for (int64_t i = 0; i < n; ++i) v[i] = std::clamp((v[i] - mean) * f + mean, lo, hi);
    }
  }
  if (rng.chance(o.pLowResolution)) {
    for (int64_t c = 0; c < channels; ++c) {
      if (!rng.chance(0.5)) continue;
      lowResolution(image + c * n, d, rng.uniform(0.5, 1.0));
    }
  }
  if (rng.chance(o.pGammaInverted)) {
    const double g = rng.chance(0.5) ? rng.uniform(0.7, 1.0) : rng.uniform(1.0, 1.5);
    for (int64_t c = 0; c < channels; ++c) gammaTransform(image + c * n, n, g, true);
  }
  if (rng.chance(o.pGamma)) {
    const double g = rng.chance(0.5) ? rng.uniform(0.7, 1.0) : rng.uniform(1.0, 1.5);
    for (int64_t c = 0; c < channels; ++c) gammaTransform(image + c * n, n, g, false);
  }
  if (o.mirror) {
    for (int axis = 0; axis < 3; ++axis) {
      if (!rng.chance(0.5)) continue;
      for (int64_t c = 0; c < channels; ++c) flipAxis(image + c * n, d, axis);
      flipAxis(label, d, axis);
    }
  }
}

template void augmentPatch<int64_t>(const AugmentOptions&, Rng&, float*, int64_t, int64_t*, const std::array<int64_t, 3>&);
template void augmentPatch<uint8_t>(const AugmentOptions&, Rng&, float*, int64_t, uint8_t*, const std::array<int64_t, 3>&);

}  // namespace seg
