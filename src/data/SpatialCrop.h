#pragma once
// Rotation and scaling applied while cropping: every patch voxel is read from its
// rotated / scaled position in the whole source volume (linear interpolation for the
// image, nearest neighbour for the label), which is what nnU-Net's crop of an enlarged
// region followed by its SpatialTransform computes, without copying the region first.
#include <array>
#include <cstdint>

namespace seg {

// A source volume as the sampler holds it: image (channels, dims[0], dims[1], dims[2])
// and label (dims), x fastest.
struct CropSource {
  const float* image = nullptr;
  int64_t channels = 1;
  const uint8_t* label = nullptr;
  std::array<int64_t, 3> dims{};  // z, y, x
};

// Output voxel o = (z, y, x) of a patch of size `patch` reads the source position
//   centre + matrix * (o - (patch - 1) / 2)            (z, y, x voxel units)
// Image: trilinear interpolation (the 8 neighbours' weights are the products of the
// per-axis fractions), neighbours outside the volume count as 0 (the mean after
// z-scoring); label: the nearest voxel, halves rounded up, background (0) outside.
// image: (channels, patch) output; label: (patch) output.
// Positions are computed in float (within about 2e-7 of their magnitude of the exact
// ones: 4e-5 voxel at 200); the output is a pure function of the arguments.
void cropAffine(const CropSource& source, const std::array<double, 3>& centre, const std::array<double, 9>& matrix,
                const std::array<int64_t, 3>& patch, float* image, uint8_t* label);

}  // namespace seg
