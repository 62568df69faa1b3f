#include "metrics/SizeBins.h"

#include <limits>
#include <string>

#include "core/Error.h"
#include "metrics/LabelChecks.h"

namespace seg {

using namespace metrics_detail;

namespace {
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
}  // namespace

std::vector<SizeBinRow> aggregateBins(const std::vector<CaseLesions>& cases, int numClasses,
                                      const std::vector<double>& sizeBinsMm3) {
  checkNumClasses("aggregateBins", numClasses);
  LesionMatchOptions check;
  check.sizeBinsMm3 = sizeBinsMm3;
  validateLesionMatchOptions(check);

  const size_t numBins = sizeBinsMm3.size();
  std::vector<SizeBinRow> rows;
  for (int c = 1; c < numClasses; ++c) {
    for (size_t b = 0; b < numBins; ++b) {
      SizeBinRow row;
      row.classIndex = c;
      row.lowMm3 = sizeBinsMm3[b];
      if (b + 1 < numBins) row.highMm3 = sizeBinsMm3[b + 1];
      rows.push_back(row);
    }
  }
  std::vector<double> diceSum(rows.size(), 0.0);
  for (const CaseLesions& cs : cases) {
    for (const Lesion& lesion : cs.lesions) {
      if (lesion.classIndex < 1 || lesion.classIndex >= numClasses) {
        throw InputError("aggregateBins: lesion of class " + std::to_string(lesion.classIndex) +
                         " but numClasses is " + std::to_string(numClasses));
      }
      if (lesion.bin >= static_cast<int>(numBins)) {
        throw InputError("aggregateBins: lesion bin " + std::to_string(lesion.bin) +
                         " is out of range for " + std::to_string(numBins) +
                         " size bins (were the lesions matched with other bins?)");
      }
      if (lesion.bin < 0 || !lesion.counted) continue;  // deliberately unbinned / unscored
      const size_t k = static_cast<size_t>(lesion.classIndex - 1) * numBins + lesion.bin;
      ++rows[k].lesions;
      if (lesion.detected) ++rows[k].detected;
      diceSum[k] += lesion.dice;
    }
  }
  for (size_t k = 0; k < rows.size(); ++k) {
    if (rows[k].lesions == 0) {
      rows[k].sensitivity = rows[k].meanDice = kNan;
    } else {
      rows[k].sensitivity = static_cast<double>(rows[k].detected) / rows[k].lesions;
      rows[k].meanDice = diceSum[k] / rows[k].lesions;
    }
  }
  return rows;
}

}  // namespace seg
