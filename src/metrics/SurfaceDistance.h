#pragma once
// Surface distances (HD95, ASSD) between label maps, in mm. ITK is used inside the .cpp
// only (SignedMaurerDistanceMapImageFilter); this header stays ITK-free.
//
// Conventions (docs/evaluation.md, matched by scripts/reference/metrics_reference.py):
// - Surface of a mask: its voxels with at least one face (6-)neighbour outside the mask;
//   voxels outside the grid count as outside, so a mask touching the border has a surface
//   there (MONAI get_mask_edges: mask XOR scipy binary_erosion with the default cross).
// - Directed distances A->B: for every surface voxel of A, the Euclidean distance in mm
//   (voxel spacing; the direction matrix is orthonormal and does not change lengths) to
//   the nearest surface voxel of B.
// - HD95 = max(95th percentile of A->B, 95th percentile of B->A), each percentile with
//   linear interpolation (numpy.percentile default): MONAI compute_hausdorff_distance
//   with percentile=95, directed=False.
// - ASSD = mean of the union of both directed distance sets (MONAI
//   compute_average_surface_distance with symmetric=True).
// - Empty sets: both empty -> 0 mm under EmptyRule::One, +inf under Zero, NaN under Nan
//   (perfect / worst / undefined, like Dice); exactly one empty -> +inf.
#include <array>
#include <cstdint>
#include <vector>

#include "core/Image.h"
#include "metrics/Overlap.h"

namespace seg {

struct SurfaceDistance {
  double hd95 = 0.0;
  double assd = 0.0;
  int64_t refSurfaceVoxels = 0;
  int64_t predSurfaceVoxels = 0;
};

// 1 on the surface of a 0/1 mask (x fastest, size x y z), see above.
std::vector<uint8_t> maskSurface(const std::vector<uint8_t>& mask, const std::array<int64_t, 3>& size);

// Distances between two 0/1 masks on the same grid (only size and spacing are used).
SurfaceDistance surfaceDistance(const std::vector<uint8_t>& predMask,
                                const std::vector<uint8_t>& refMask, const ImageGeometry& geometry,
                                EmptyRule rule);

// Per foreground class 1..numClasses-1; throws InputError when the grids differ.
std::vector<SurfaceDistance> surfaceDistancePerClass(const LabelVolume& pred, const LabelVolume& ref,
                                                     int numClasses, EmptyRule rule);

// numpy.percentile(values, q) with linear interpolation; values are sorted in place.
// NaN for an empty vector.
double percentileLinear(std::vector<double>& values, double q);

}  // namespace seg
