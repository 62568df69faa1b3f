#include "data/Preprocess.h"

#include <algorithm>
#include <cmath>

#include "core/Error.h"

namespace seg {

Normalization parseNormalization(const std::string& text) {
  if (text == "zscore") return Normalization::ZScore;
  if (text == "none") return Normalization::None;
  throw InputError("unknown normalization '" + text + "' (expected zscore or none)");
}

void normalizeIntensities(Volume& volume, Normalization scheme) {
  if (scheme == Normalization::None) return;
  const size_t n = static_cast<size_t>(volume.geometry.numVoxels());
  for (int64_t c = 0; c < volume.channels; ++c) {
    float* v = volume.data.data() + c * n;
    // Two-pass mean/variance in double: volumes have tens of millions of voxels.
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += v[i];
    const double mean = n ? sum / static_cast<double>(n) : 0.0;
    double sq = 0.0;
    for (size_t i = 0; i < n; ++i) sq += (v[i] - mean) * (v[i] - mean);
    const double sd = std::max(std::sqrt(n ? sq / static_cast<double>(n) : 0.0), 1e-8);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>((v[i] - mean) / sd);
  }
}

}  // namespace seg
