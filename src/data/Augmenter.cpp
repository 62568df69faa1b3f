#include "data/Augmenter.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace seg {

namespace {

constexpr double kPi = 3.14159265358979323846;

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

// One axis of a separable Gaussian blur, zero-flux (clamped) borders.
void blurAxis(float* v, const std::array<int64_t, 3>& d, int axis, double sigma) {
  const int radius = std::max(1, static_cast<int>(std::ceil(3.0 * sigma)));
  std::vector<float> kernel(2 * radius + 1);
  double total = 0;
  for (int i = -radius; i <= radius; ++i) total += kernel[i + radius] = static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (auto& k : kernel) k = static_cast<float>(k / total);
  const int64_t stride = axis == 0 ? d[1] * d[2] : axis == 1 ? d[2] : 1;
  const int64_t n = d[axis];
  std::vector<float> line(n);
  const int64_t lines = d[0] * d[1] * d[2] / n;
  for (int64_t l = 0; l < lines; ++l) {
    // Start of line l: decompose over the two other axes.
    int64_t start;
    if (axis == 0) start = l;
    else if (axis == 1) start = (l / d[2]) * d[1] * d[2] + (l % d[2]);
    else start = l * d[2];
    for (int64_t i = 0; i < n; ++i) line[i] = v[start + i * stride];
    for (int64_t i = 0; i < n; ++i) {
      float acc = 0;
      for (int k = -radius; k <= radius; ++k) acc += kernel[k + radius] * line[std::clamp<int64_t>(i + k, 0, n - 1)];
      v[start + i * stride] = acc;
    }
  }
}

// Trilinear sample of a (d0, d1, d2) volume at a fractional position (clamped).
float trilinear(const float* v, const std::array<int64_t, 3>& d, double z, double y, double x) {
  z = std::clamp(z, 0.0, static_cast<double>(d[0] - 1));
  y = std::clamp(y, 0.0, static_cast<double>(d[1] - 1));
  x = std::clamp(x, 0.0, static_cast<double>(d[2] - 1));
  const int64_t z0 = static_cast<int64_t>(z), y0 = static_cast<int64_t>(y), x0 = static_cast<int64_t>(x);
  const int64_t z1 = std::min(z0 + 1, d[0] - 1), y1 = std::min(y0 + 1, d[1] - 1), x1 = std::min(x0 + 1, d[2] - 1);
  const double fz = z - z0, fy = y - y0, fx = x - x0;
  auto at = [&](int64_t a, int64_t b, int64_t c) { return static_cast<double>(v[(a * d[1] + b) * d[2] + c]); };
  const double c00 = at(z0, y0, x0) * (1 - fx) + at(z0, y0, x1) * fx;
  const double c01 = at(z0, y1, x0) * (1 - fx) + at(z0, y1, x1) * fx;
  const double c10 = at(z1, y0, x0) * (1 - fx) + at(z1, y0, x1) * fx;
  const double c11 = at(z1, y1, x0) * (1 - fx) + at(z1, y1, x1) * fx;
  return static_cast<float>((c00 * (1 - fy) + c01 * fy) * (1 - fz) + (c10 * (1 - fy) + c11 * fy) * fz);
}

void lowResolution(float* v, const std::array<int64_t, 3>& d, double scale) {
  std::array<int64_t, 3> small{};
  for (int a = 0; a < 3; ++a) small[a] = std::max<int64_t>(1, std::llround(d[a] * scale));
  // Down by nearest neighbour, back up by linear interpolation (nnU-Net uses order 0 / 3).
  std::vector<float> low(small[0] * small[1] * small[2]);
  for (int64_t z = 0; z < small[0]; ++z)
    for (int64_t y = 0; y < small[1]; ++y)
      for (int64_t x = 0; x < small[2]; ++x) {
        const int64_t sz = std::min(d[0] - 1, static_cast<int64_t>((z + 0.5) * d[0] / small[0]));
        const int64_t sy = std::min(d[1] - 1, static_cast<int64_t>((y + 0.5) * d[1] / small[1]));
        const int64_t sx = std::min(d[2] - 1, static_cast<int64_t>((x + 0.5) * d[2] / small[2]));
        low[(z * small[1] + y) * small[2] + x] = v[(sz * d[1] + sy) * d[2] + sx];
      }
  for (int64_t z = 0; z < d[0]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[2]; ++x) {
        v[(z * d[1] + y) * d[2] + x] = trilinear(low.data(), small, (z + 0.5) * small[0] / d[0] - 0.5,
                                                 (y + 0.5) * small[1] / d[1] - 0.5, (x + 0.5) * small[2] / d[2] - 0.5);
      }
}

// nnU-Net's GammaTransform with retain_stats: x -> ((x - min) / range)^g * range + min,
// then the original mean and standard deviation restored; `invert` works on -x.
void gamma(float* v, int64_t n, double g, bool invert) {
  if (invert)
    for (int64_t i = 0; i < n; ++i) v[i] = -v[i];
  double sum = 0, sq = 0;
  float lo = v[0], hi = v[0];
  for (int64_t i = 0; i < n; ++i) {
    sum += v[i];
    sq += static_cast<double>(v[i]) * v[i];
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
  }
  const double mean = sum / n, sd = std::sqrt(std::max(0.0, sq / n - mean * mean));
  const double range = static_cast<double>(hi) - lo;
  double nsum = 0, nsq = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double y = std::pow((v[i] - lo) / (range + 1e-7), g) * range + lo;
    v[i] = static_cast<float>(y);
    nsum += y;
    nsq += y * y;
  }
  const double nmean = nsum / n, nsd = std::sqrt(std::max(0.0, nsq / n - nmean * nmean));
  for (int64_t i = 0; i < n; ++i) {
    const double y = (v[i] - nmean) / (nsd + 1e-8) * sd + mean;
    v[i] = static_cast<float>(invert ? -y : y);
  }
}

template <typename T>
void flipAxis(T* v, const std::array<int64_t, 3>& d, int axis) {
  for (int64_t z = 0; z < (axis == 0 ? d[0] / 2 : d[0]); ++z)
    for (int64_t y = 0; y < (axis == 1 ? d[1] / 2 : d[1]); ++y)
      for (int64_t x = 0; x < (axis == 2 ? d[2] / 2 : d[2]); ++x) {
        const int64_t mz = axis == 0 ? d[0] - 1 - z : z, my = axis == 1 ? d[1] - 1 - y : y,
                      mx = axis == 2 ? d[2] - 1 - x : x;
        std::swap(v[(z * d[1] + y) * d[2] + x], v[(mz * d[1] + my) * d[2] + mx]);
      }
}

}  // namespace

double normal(Rng& rng) {
  const double u1 = std::max(rng.uniform(), 1e-300), u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

SpatialParams drawSpatial(const AugmentOptions& o, Rng& rng) {
  SpatialParams p;
  if (!o.enabled) return p;
  const bool rotate = rng.chance(o.pRotation);
  const bool scale = rng.chance(o.pScaling);
  if (!rotate && !scale) return p;
  p.active = true;
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

void augmentPatch(const AugmentOptions& o, Rng& rng, float* image, int64_t channels, int64_t* label,
                  const std::array<int64_t, 3>& d) {
  if (!o.enabled) return;
  const int64_t n = d[0] * d[1] * d[2];
  if (rng.chance(o.pNoise)) {
    const double sd = std::sqrt(rng.uniform(0.0, o.noiseVariance));
    for (int64_t i = 0; i < n * channels; ++i) image[i] += static_cast<float>(sd * normal(rng));
  }
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
      const double f = rng.uniform(0.75, 1.25);
      double mean = 0;
      float lo = v[0], hi = v[0];
      for (int64_t i = 0; i < n; ++i) mean += v[i], lo = std::min(lo, v[i]), hi = std::max(hi, v[i]);
      mean /= n;
      for (int64_t i = 0; i < n; ++i) v[i] = std::clamp(static_cast<float>((v[i] - mean) * f + mean), lo, hi);
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
    for (int64_t c = 0; c < channels; ++c) gamma(image + c * n, n, g, true);
  }
  if (rng.chance(o.pGamma)) {
    const double g = rng.chance(0.5) ? rng.uniform(0.7, 1.0) : rng.uniform(1.0, 1.5);
    for (int64_t c = 0; c < channels; ++c) gamma(image + c * n, n, g, false);
  }
  if (o.mirror) {
    for (int axis = 0; axis < 3; ++axis) {
      if (!rng.chance(0.5)) continue;
      for (int64_t c = 0; c < channels; ++c) flipAxis(image + c * n, d, axis);
      flipAxis(label, d, axis);
    }
  }
}

}  // namespace seg
