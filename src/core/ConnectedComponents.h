#pragma once
// Connected components and binary dilation of label maps (x fastest). Shared by data/
// (fingerprint, lesion-uniform patch sampling) and metrics/ (lesion matching). No torch, no ITK.
#include <array>
#include <cstdint>
#include <vector>

namespace seg {

// Connected components of (labels == classIndex) with 6, 18 or 26 connectivity
// (faces / +edges / +corners: scipy.ndimage.generate_binary_structure(3, 1|2|3)).
// Returns a component id per voxel (0 = not in class) and the component count; ids
// are 1..count in raster (z, y, x buffer) order of each component's first voxel.
struct Components {
  std::vector<int32_t> ids;
  int32_t count = 0;
};
Components connectedComponents(const std::vector<uint8_t>& labels,
                               const std::array<int64_t, 3>& size, int classIndex,
                               int connectivity);

// Binary dilation of `mask` (0/1, x fastest) `iterations` times with the 18-neighbourhood
// cross; voxels outside the grid count as background (scipy.ndimage.binary_dilation).
std::vector<uint8_t> dilate18(const std::vector<uint8_t>& mask, const std::array<int64_t, 3>& size,
                              int iterations);

}  // namespace seg
