#pragma once
// Value statistics of a volume for `segdata inspect`: range, mean and, for integer-valued
// data (labels), the distinct values. NaN/Inf voxels are counted and left out of the rest.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace seg {

struct VolumeStats {
  uint64_t nonFinite = 0;        // NaN/Inf values; min/max/mean are over the others
  bool finite = false;           // some finite value: min/max/mean/integerValued are set
  double min = 0, max = 0, mean = 0;
  bool integerValued = false;    // every finite value is a whole number
  std::vector<double> distinct;  // integer-valued only: the smallest maxDistinct values, sorted
  bool distinctTruncated = false;
};

constexpr size_t kMaxDistinctValues = 20;

// `nonFinite` holds the indices (sorted, into `values`) of the NaN/Inf voxels, as
// readImageCountingNonFinite reports them; what `values` holds there is ignored (ITK 5.2
// reads those voxels as 0).
VolumeStats computeVolumeStats(const std::vector<float>& values, const std::vector<uint64_t>& nonFinite,
                               size_t maxDistinct = kMaxDistinctValues);

}  // namespace seg
