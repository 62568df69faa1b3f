#pragma once
// segeval's console tables.
#include <string>

#include "metrics/EvalReport.h"

namespace seg {

// Fixed-width console tables ending with the conventions line; NaN shows as "n/a".
std::string formatCaseTable(const EvalReport& report);     // Dice per case and class + mean row
std::string formatSizeBinTable(const EvalReport& report);  // per class and lesion-size bin

}  // namespace seg
