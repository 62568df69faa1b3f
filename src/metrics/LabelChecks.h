#pragma once
// Argument checks shared by the metrics (overlap, lesion matching, size bins): the message
// names the calling function. Internal to metrics/.
#include <cstdint>
#include <vector>

#include "core/Image.h"

namespace seg::metrics_detail {

// Throws InputError unless prediction and reference are on one grid with full buffers.
void checkSameGrid(const char* where, const LabelVolume& pred, const LabelVolume& ref);
// Throws InputError unless numClasses is in 1..256 (uint8 labels).
void checkNumClasses(const char* where, int numClasses);
// Throws InputError when `data` holds a label >= numClasses.
void checkLabels(const char* where, const char* which, const std::vector<uint8_t>& data, int numClasses);

}  // namespace seg::metrics_detail
