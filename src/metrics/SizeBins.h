#pragma once
// Lesions aggregated per class and size bin over cases (the per-lesion-size table).
#include <cstdint>
#include <limits>
#include <vector>

#include "metrics/LesionMatching.h"

namespace seg {

// Aggregate of lesions over cases, per class and size bin (rows class-major). Lesions
// with bin -1 (below the first edge) or not counted are in no row.
struct SizeBinRow {
  int classIndex = 0;
  double lowMm3 = 0.0;
  double highMm3 = std::numeric_limits<double>::infinity();
  int64_t lesions = 0;
  int64_t detected = 0;
  double sensitivity = 0.0;  // NaN when the bin is empty
  double meanDice = 0.0;     // NaN when the bin is empty
};
std::vector<SizeBinRow> aggregateBins(const std::vector<CaseLesions>& cases, int numClasses,
                                      const std::vector<double>& sizeBinsMm3);

}  // namespace seg
