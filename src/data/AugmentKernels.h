#pragma once
// The kernels of the augmentation pipeline (data/Augmenter.h applies them in nnU-Net's
// order): in-place transforms of one channel (z, y, x buffer, x fastest), written so GCC
// vectorises them (see src/CMakeLists.txt for the flags this file and Augmenter.cpp get).
#include <algorithm>
#include <array>
#include <cstdint>

#include "core/Random.h"

namespace seg {

// One axis (0 = z, 1 = y, 2 = x) of a separable Gaussian blur, zero-flux borders.
void blurAxis(float* v, const std::array<int64_t, 3>& dims, int axis, double sigma);

// nnU-Net's SimulateLowResolutionTransform: down to `scale` of the size by nearest
// neighbour, back up linearly with centres aligned (nnU-Net goes back up with order 3).
void lowResolution(float* v, const std::array<int64_t, 3>& dims, double scale);

struct Moments {
  double mean, sd;
  float lo, hi;
};
// Mean, standard deviation, minimum and maximum of n > 0 values.
Moments moments(const float* v, int64_t n);

// The gamma transform alone, in place on one channel of n > 0 voxels (see AugmentKernels.cpp):
// ((x - min) / range)^gamma * range + min, or on -x with `invert`, then the original
// mean and standard deviation restored (nnU-Net's retain_stats).
void gammaTransform(float* v, int64_t n, double gamma, bool invert);

// Gaussian noise N(0, sd^2) added in place to `total` values (see AugmentKernels.cpp).
void addNoise(float* v, int64_t total, float sd, Rng& rng);

// Mirroring by whole rows and planes (memory-bound swaps, no per-voxel index math).
template <typename T>
void flipAxis(T* v, const std::array<int64_t, 3>& d, int axis) {
  const int64_t plane = d[1] * d[2];
  if (axis == 2) {
    for (int64_t r = 0; r < d[0] * d[1]; ++r) std::reverse(v + r * d[2], v + (r + 1) * d[2]);
  } else if (axis == 1) {
    for (int64_t z = 0; z < d[0]; ++z)
      for (int64_t y = 0; y < d[1] / 2; ++y)
        std::swap_ranges(v + z * plane + y * d[2], v + z * plane + (y + 1) * d[2], v + z * plane + (d[1] - 1 - y) * d[2]);
  } else {
    for (int64_t z = 0; z < d[0] / 2; ++z) std::swap_ranges(v + z * plane, v + (z + 1) * plane, v + (d[0] - 1 - z) * plane);
  }
}

}  // namespace seg
