#include "data/Preprocess.h"

#include <algorithm>
#include <cmath>

#include "core/Error.h"

namespace seg {

Normalization parseNormalization(const std::string& text) {
  if (text == "zscore") return Normalization::ZScore;
  if (text == "ct") return Normalization::CT;
  if (text == "none") return Normalization::None;
  throw InputError("unknown normalization '" + text + "' (expected zscore, ct or none)");
}

namespace {

void zscore(Volume& volume, bool nonzeroMask) {
  const size_t n = static_cast<size_t>(volume.geometry.numVoxels());
  std::vector<uint8_t> mask;
  if (nonzeroMask) {
    // One mask for all channels, as nnU-Net's crop_to_nonzero builds it.
    mask.assign(n, 0);
    for (int64_t c = 0; c < volume.channels; ++c) {
      const float* v = volume.data.data() + c * n;
      for (size_t i = 0; i < n; ++i) mask[i] |= v[i] != 0.0f ? 1 : 0;
    }
  }
  auto in = [&](size_t i) { return !nonzeroMask || mask[i] != 0; };
  for (int64_t c = 0; c < volume.channels; ++c) {
    float* v = volume.data.data() + c * n;
    // Two-pass mean/variance in double: volumes have tens of millions of voxels.
    double sum = 0.0;
    size_t count = 0;
    for (size_t i = 0; i < n; ++i) {
      if (in(i)) sum += v[i], ++count;
    }
    const double mean = count ? sum / static_cast<double>(count) : 0.0;
    double sq = 0.0;
    for (size_t i = 0; i < n; ++i) {
      if (in(i)) sq += (v[i] - mean) * (v[i] - mean);
    }
    const double sd = std::max(std::sqrt(count ? sq / static_cast<double>(count) : 0.0), 1e-8);
    for (size_t i = 0; i < n; ++i) v[i] = in(i) ? static_cast<float>((v[i] - mean) / sd) : 0.0f;
  }
}

}  // namespace

void normalizeIntensities(Volume& volume, const PreprocessOptions& options, const std::string& where) {
  switch (options.normalization) {
    case Normalization::None: return;
    case Normalization::ZScore: zscore(volume, options.nonzeroMask); return;
    case Normalization::CT: break;
  }
  const IntensityStats& s = options.ct;
  if (s.channels() != static_cast<size_t>(volume.channels) || s.clipLow.size() != s.channels() ||
      s.clipHigh.size() != s.channels() || s.std.size() != s.channels()) {
    throw InputError((where.empty() ? std::string() : where + ": ") + "CT normalisation has statistics for " +
                     std::to_string(s.channels()) + " channel(s) but the image has " +
                     std::to_string(volume.channels));
  }
  const size_t n = static_cast<size_t>(volume.geometry.numVoxels());
  for (int64_t c = 0; c < volume.channels; ++c) {
    float* v = volume.data.data() + c * n;
    const double lo = s.clipLow[c], hi = s.clipHigh[c], mean = s.mean[c];
    const double sd = std::max(s.std[c], 1e-8);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>((std::clamp<double>(v[i], lo, hi) - mean) / sd);
  }
}

double percentile(std::vector<double>& values, double q) {
  if (values.empty()) throw InternalError("percentile of no values");
  // numpy's default ('linear'): rank q/100 * (n-1), interpolated between neighbours.
  const double rank = q / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lo), values.end());
  const double a = values[lo];
  const double b = hi == lo ? a : *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(lo) + 1, values.end());
  return a + (b - a) * (rank - static_cast<double>(lo));
}

IntensityStats foregroundStats(const std::vector<ForegroundSource>& cases) {
  if (cases.empty()) throw InputError("foreground statistics: no cases");
  const int64_t channels = cases.front().image->channels;
  IntensityStats s;
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0, sq = 0;
    size_t count = 0;
    std::vector<double> samples;
    for (const ForegroundSource& k : cases) {
      if (k.image->channels != channels) {
        throw InputError("foreground statistics: cases have " + std::to_string(channels) + " and " +
                         std::to_string(k.image->channels) + " channels");
      }
      const size_t n = static_cast<size_t>(k.image->geometry.numVoxels());
      if (k.label->data.size() != n) throw InternalError("foreground statistics: label and image grids differ");
      const float* v = k.image->data.data() + c * n;
      size_t inCase = 0;
      for (size_t i = 0; i < n; ++i) {
        if (k.label->data[i] == 0 || k.label->data[i] == k.ignoreLabel) continue;
        sum += v[i];
        ++inCase;
      }
      count += inCase;
      // Evenly strided subset for the percentiles when a case has many foreground voxels.
      const size_t stride = (inCase + kPercentileSamplesPerCase - 1) / kPercentileSamplesPerCase;
      size_t seen = 0;
      for (size_t i = 0; i < n; ++i) {
        if (k.label->data[i] == 0 || k.label->data[i] == k.ignoreLabel) continue;
        if (stride <= 1 || seen % stride == 0) samples.push_back(v[i]);
        ++seen;
      }
    }
    if (count == 0) throw InputError("CT normalisation: the training cases have no foreground voxels");
    const double mean = sum / static_cast<double>(count);
    for (const ForegroundSource& k : cases) {
      const size_t n = static_cast<size_t>(k.image->geometry.numVoxels());
      const float* v = k.image->data.data() + c * n;
      for (size_t i = 0; i < n; ++i) {
        if (k.label->data[i] != 0 && k.label->data[i] != k.ignoreLabel) sq += (v[i] - mean) * (v[i] - mean);
      }
    }
    s.mean.push_back(mean);
    s.std.push_back(std::sqrt(sq / static_cast<double>(count)));
    s.clipLow.push_back(percentile(samples, 0.5));
    s.clipHigh.push_back(percentile(samples, 99.5));
  }
  return s;
}

std::array<double, 3> medianTargetSpacing(const std::vector<std::array<double, 3>>& spacings,
                                          const std::vector<std::array<int64_t, 3>>& sizes) {
  if (spacings.empty() || spacings.size() != sizes.size()) throw InputError("target spacing: no cases");
  std::array<double, 3> target{}, size{};
  for (int a = 0; a < 3; ++a) {
    std::vector<double> sp, sz;
    for (size_t i = 0; i < spacings.size(); ++i) sp.push_back(spacings[i][a]), sz.push_back(static_cast<double>(sizes[i][a]));
    target[a] = percentile(sp, 50);
    size[a] = percentile(sz, 50);
  }
  // np.argmax: the first axis holding the largest value.
  const int worst = static_cast<int>(std::max_element(target.begin(), target.end()) - target.begin());
  double maxOtherSpacing = 0, minOtherSize = 1e300;
  for (int a = 0; a < 3; ++a) {
    if (a == worst) continue;
    maxOtherSpacing = std::max(maxOtherSpacing, target[a]);
    minOtherSize = std::min(minOtherSize, size[a]);
  }
  const bool anisoSpacing = target[worst] > kAnisotropyThreshold * maxOtherSpacing;
  const bool anisoVoxels = size[worst] * kAnisotropyThreshold < minOtherSize;
  if (anisoSpacing && anisoVoxels) {
    std::vector<double> axis;
    for (const auto& s : spacings) axis.push_back(s[worst]);
    double t = percentile(axis, 10);
    if (t < maxOtherSpacing) t = std::max(maxOtherSpacing, t) + 1e-5;
    target[worst] = t;
  }
  return target;
}

}  // namespace seg
