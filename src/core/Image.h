#pragma once
// Plain image containers shared by data, metrics, infer and the apps. No ITK and
// no torch here so that leaves (metrics) can use them cheaply.
//
// Axis convention: `size`, `spacing` and `origin` are in ITK / NIfTI voxel order
// (x, y, z). Buffers are x-fastest, so a buffer is a contiguous (z, y, x) array,
// which is also a contiguous torch tensor of shape (Z, Y, X) without a copy.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace seg {

struct ImageGeometry {
  std::array<int64_t, 3> size{0, 0, 0};         // x, y, z voxels
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  // mm, x y z
  std::array<double, 3> origin{0.0, 0.0, 0.0};   // mm, physical position of voxel 0
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};  // row-major 3x3

  int64_t numVoxels() const { return size[0] * size[1] * size[2]; }
  double voxelVolume() const { return spacing[0] * spacing[1] * spacing[2]; }
  // True when sizes are equal and spacing/origin/direction agree within tolerance.
  bool sameGrid(const ImageGeometry& other, double tolerance = 1e-4) const;
  // "(x,y,z)" style text for messages.
  std::string describeSize() const;
};

// A multi-channel float image: data is (channels, z, y, x), x fastest.
struct Volume {
  ImageGeometry geometry;
  int64_t channels = 1;
  std::vector<float> data;
};

// An integer label map (class index per voxel), (z, y, x), x fastest.
struct LabelVolume {
  ImageGeometry geometry;
  std::vector<uint8_t> data;
};

}  // namespace seg
