#include "core/Image.h"

#include "core/GridDifference.h"

#include <cmath>
#include <sstream>

namespace seg {

bool ImageGeometry::sameGrid(const ImageGeometry& other, double tolerance) const {
  return describeGridDifference(*this, other, tolerance).empty();
}

namespace {

template <size_t N>
std::string listText(const std::array<double, N>& values) {
  std::ostringstream out;
  out << "(";
  for (size_t i = 0; i < N; ++i) out << (i ? "," : "") << values[i];
  out << ")";
  return out.str();
}

}  // namespace

std::string describeGridDifference(const ImageGeometry& a, const ImageGeometry& other, double tolerance) {
  const auto& size = a.size;
  const auto& spacing = a.spacing;
  const auto& origin = a.origin;
  const auto& direction = a.direction;
  if (size != other.size) return "size " + a.describeSize() + " vs " + other.describeSize();
  bool spacingDiffers = false, originDiffers = false, directionDiffers = false;
  for (int i = 0; i < 3; ++i) {
    // Spacing tolerance is relative (mm scale varies), origin absolute in mm.
    const double s = std::max(std::abs(spacing[i]), std::abs(other.spacing[i]));
    if (!(std::abs(spacing[i] - other.spacing[i]) <= tolerance * std::max(1.0, s))) spacingDiffers = true;
    if (!(std::abs(origin[i] - other.origin[i]) <= tolerance * std::max(1.0, s) * 10)) originDiffers = true;
  }
  for (int i = 0; i < 9; ++i) {
    if (!(std::abs(direction[i] - other.direction[i]) <= tolerance)) directionDiffers = true;
  }
  std::string text;
  auto add = [&](const std::string& part) { text += (text.empty() ? "" : ", ") + part; };
  if (spacingDiffers) add("spacing " + listText(spacing) + " vs " + listText(other.spacing));
  if (originDiffers) add("origin " + listText(origin) + " vs " + listText(other.origin));
  if (directionDiffers) add("direction " + listText(direction) + " vs " + listText(other.direction));
  return text;
}

std::string ImageGeometry::describeSize() const {
  std::ostringstream out;
  out << "(" << size[0] << "," << size[1] << "," << size[2] << ")";
  return out.str();
}

}  // namespace seg
