#pragma once
// Says what differs between two grids, for error messages (kept out of core/Image.h, which
// nearly every file includes).
#include <string>

#include "core/Image.h"

namespace seg {

// What differs between `a` and `b` under ImageGeometry::sameGrid's tolerances, e.g.
// "spacing (2,1,1) vs (1,1,1)"; empty when the grids agree (sameGrid is true).
std::string describeGridDifference(const ImageGeometry& a, const ImageGeometry& b, double tolerance = 1e-4);

}  // namespace seg
