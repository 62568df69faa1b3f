#pragma once
// nnU-Net v2's default training augmentations in C++, applied per sample to a patch
// buffer (channels, Z, Y, X) and its label map. Probabilities and ranges are those of
// nnunetv2/training/nnUNetTrainer/nnUNetTrainer.py:get_training_transforms.
// The spatial part (rotation, scaling) is not here: it changes where the patch is
// read from, so PatchSampler applies it while cropping (see SpatialParams).
#include <array>
#include <cstdint>

#include "core/Random.h"

namespace seg {

struct AugmentOptions {
  bool enabled = true;
  // Spatial (applied while cropping).
  double pRotation = 0.2;        // per sample; angles uniform in +-rotationDegrees on each axis
  double rotationDegrees = 30.0;
  double pScaling = 0.2;         // per sample; one factor for all axes
  double scaleLow = 0.7, scaleHigh = 1.4;
  // Intensity.
  double pNoise = 0.1;           // Gaussian noise, variance uniform in [0, noiseVariance]
  double noiseVariance = 0.1;
  double pBlur = 0.2;            // Gaussian blur, sigma in [0.5, 1] per axis, per channel with p 0.5
  double pBrightness = 0.15;     // multiplicative, factor in [0.75, 1.25] per channel
  double pContrast = 0.15;       // factor in [0.75, 1.25], range preserved
  double pLowResolution = 0.25;  // down by [0.5, 1] (nearest), back up (linear), per channel p 0.5
  double pGammaInverted = 0.1;   // gamma in [0.7, 1.5] on the inverted image, stats retained
  double pGamma = 0.3;
  bool mirror = true;            // each axis flipped with p 0.5
};

// Parameters of the spatial transform drawn for one sample.
struct SpatialParams {
  bool active = false;
  // Maps an output offset from the patch centre (z, y, x voxels) to a source offset:
  // source = matrix * output (rotation combined with 1/scale).
  std::array<double, 9> matrix{1, 0, 0, 0, 1, 0, 0, 0, 1};
};

SpatialParams drawSpatial(const AugmentOptions& options, Rng& rng);

// Intensity transforms and mirroring, in nnU-Net's order, in place.
// image: (channels, d[0], d[1], d[2]); label: (d[0], d[1], d[2]).
// Instantiated for int64_t and uint8_t labels.
template <typename TLabel>
void augmentPatch(const AugmentOptions& options, Rng& rng, float* image, int64_t channels,
                  TLabel* label, const std::array<int64_t, 3>& dims);

}  // namespace seg
