#include "metrics/LabelChecks.h"

#include <algorithm>
#include <string>

#include "core/Error.h"
#include "core/GridDifference.h"

namespace seg::metrics_detail {

// Both sizes always appear in the message, plus what else differs (core/GridDifference.h),
// so a user sees at once which resampling step went wrong.
void checkSameGrid(const char* where, const LabelVolume& pred, const LabelVolume& ref) {
  std::string difference = describeGridDifference(pred.geometry, ref.geometry);
  if (pred.geometry.size != ref.geometry.size) difference = "sizes differ";  // both are named already
  if (!difference.empty()) {
    throw InputError(std::string(where) + ": prediction " + pred.geometry.describeSize() + " and reference " +
                     ref.geometry.describeSize() + " are not on the same grid (" + difference + ")");
  }
  for (const auto* v : {&pred, &ref}) {
    if (static_cast<int64_t>(v->data.size()) != v->geometry.numVoxels()) {
      throw InputError(std::string(where) + ": " + (v == &pred ? "prediction" : "reference") +
                       " buffer holds " + std::to_string(v->data.size()) + " voxels but size " +
                       v->geometry.describeSize() + " needs " +
                       std::to_string(v->geometry.numVoxels()));
    }
  }
}

void checkNumClasses(const char* where, int numClasses) {
  if (numClasses < 1 || numClasses > 256) {
    throw InputError(std::string(where) + ": numClasses must be in 1..256 (uint8 labels), got " +
                     std::to_string(numClasses));
  }
}

void checkLabels(const char* where, const char* which, const std::vector<uint8_t>& data,
                 int numClasses) {
  const uint8_t maxLabel = data.empty() ? 0 : *std::max_element(data.begin(), data.end());
  if (maxLabel >= numClasses) {
    throw InputError(std::string(where) + ": " + which + " contains label " +
                     std::to_string(maxLabel) + " but numClasses is " + std::to_string(numClasses) +
                     " (labels must be 0.." + std::to_string(numClasses - 1) + ")");
  }
}

}  // namespace seg::metrics_detail
