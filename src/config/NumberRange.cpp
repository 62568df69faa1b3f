#include "config/NumberRange.h"

#include <charconv>
#include <cmath>

namespace seg {

bool NumberRange::contains(double v) const {
  const bool aboveLo = loOpen ? v > lo : v >= lo;
  const bool belowHi = hiOpen ? v < hi : v <= hi;
  return aboveLo && belowHi;
}

std::string NumberRange::describe() const {
  if (std::isinf(hi)) return std::string("must be ") + (loOpen ? "> " : ">= ") + formatNumber(lo);
  if (std::isinf(lo)) return std::string("must be ") + (hiOpen ? "< " : "<= ") + formatNumber(hi);
  return std::string("must be in ") + (loOpen ? "(" : "[") + formatNumber(lo) + ", " +
         formatNumber(hi) + (hiOpen ? ")" : "]");
}

std::string formatNumber(double value) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

}  // namespace seg
