#pragma once
// Process-wide counts of the spatial transforms drawSpatial (data/Augmenter.h) has drawn,
// for benchmarks that compare how many samples were resampled with nnU-Net's
// SpatialTransform draws. Relaxed atomics: exact once the drawing threads are joined.
// In its own header so that code including Augmenter.h does not depend on it.
#include <cstdint>

namespace seg {

struct SpatialDrawCounts {
  uint64_t spatial = 0;  // rotation and/or scaling drawn: the patch was resampled
  uint64_t rotated = 0;
  uint64_t scaled = 0;
};

SpatialDrawCounts spatialDrawCounts();

}  // namespace seg
