#pragma once
// Learning rate as a pure function of the iteration, so a resumed run needs only the
// iteration counter to continue the schedule.
#include <cstdint>
#include <string>

namespace seg {

struct LrScheduleOptions {
  std::string name = "poly";   // poly | cosine | constant
  double baseLr = 1e-2;
  double exponent = 0.9;       // poly
  double minLr = 0.0;          // cosine floor
  int64_t warmupIterations = 0;
  int64_t totalIterations = 1;
};

// poly (nnU-Net): base * (1 - t/T)^exponent; cosine: min + (base - min)(1 + cos(pi t/T))/2;
// constant: base. During warm-up the rate rises linearly to the schedule's value.
double learningRateAt(const LrScheduleOptions& options, int64_t iteration);

}  // namespace seg
