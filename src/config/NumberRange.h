#pragma once
// Number ranges checked at load ("must be in [0, 1)") and the shortest exact text of a
// double. Free of yaml-cpp, so the config field table (ConfigFields.h) can name ranges.
#include <limits>
#include <string>

namespace seg {

// An interval check with the phrase that explains it in messages ("must be in [0, 1)").
struct NumberRange {
  static constexpr double kInf = std::numeric_limits<double>::infinity();
  double lo = -kInf;
  double hi = kInf;
  bool loOpen = false;
  bool hiOpen = false;

  bool contains(double v) const;
  std::string describe() const;

  static NumberRange any() { return {}; }
  static NumberRange atLeast(double lo) { return {lo, kInf, false, false}; }
  static NumberRange greaterThan(double lo) { return {lo, kInf, true, false}; }
  static NumberRange closed(double lo, double hi) { return {lo, hi, false, false}; }
  static NumberRange closedOpen(double lo, double hi) { return {lo, hi, false, true}; }
};

// Shortest text that reads back to the same double ("1e-05", "0.33", "30").
std::string formatNumber(double value);

}  // namespace seg
