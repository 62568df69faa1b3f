#include "train/LrSchedule.h"

#include <algorithm>
#include <cmath>

#include "core/Error.h"

namespace seg {

double learningRateAt(const LrScheduleOptions& o, int64_t iteration) {
  const double total = static_cast<double>(std::max<int64_t>(1, o.totalIterations));
  const double t = std::clamp(static_cast<double>(iteration) / total, 0.0, 1.0);
  double lr;
  if (o.name == "poly") {
    lr = o.baseLr * std::pow(1.0 - t, o.exponent);
  } else if (o.name == "cosine") {
    lr = o.minLr + (o.baseLr - o.minLr) * 0.5 * (1.0 + std::cos(M_PI * t));
  } else if (o.name == "constant") {
    lr = o.baseLr;
  } else {
    throw InputError("unknown learning-rate schedule '" + o.name + "'");
  }
  if (iteration < o.warmupIterations) {
    lr *= static_cast<double>(iteration + 1) / static_cast<double>(o.warmupIterations);
  }
  return lr;
}

}  // namespace seg
