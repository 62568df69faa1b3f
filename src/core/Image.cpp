#include "core/Image.h"

#include <cmath>
#include <sstream>

namespace seg {

bool ImageGeometry::sameGrid(const ImageGeometry& other, double tolerance) const {
  if (size != other.size) return false;
  for (int i = 0; i < 3; ++i) {
    // Spacing tolerance is relative (mm scale varies), origin absolute in mm.
    const double s = std::max(std::abs(spacing[i]), std::abs(other.spacing[i]));
    if (std::abs(spacing[i] - other.spacing[i]) > tolerance * std::max(1.0, s)) return false;
    if (std::abs(origin[i] - other.origin[i]) > tolerance * std::max(1.0, s) * 10) return false;
  }
  for (int i = 0; i < 9; ++i) {
    if (std::abs(direction[i] - other.direction[i]) > tolerance) return false;
  }
  return true;
}

std::string ImageGeometry::describeSize() const {
  std::ostringstream out;
  out << "(" << size[0] << "," << size[1] << "," << size[2] << ")";
  return out.str();
}

}  // namespace seg
