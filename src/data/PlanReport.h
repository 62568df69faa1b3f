#pragma once
// What `segdata plan DATASET [--json]` shows: the dataset fingerprint and the suggested
// plan of data/Fingerprint.h, as a text summary or as JSON.
#include <string>

#include "data/Dataset.h"
#include "data/Fingerprint.h"

namespace seg {

struct PlanReport {
  DatasetManifest manifest;  // name, channel names and class names for the report
  DatasetFingerprint fingerprint;
  Plan plan;
};

// Fingerprints the training cases and suggests a plan; read errors are InputErrors naming
// the case (fingerprintDataset).
PlanReport planDataset(const DatasetManifest& manifest, const PlanOptions& options = {});

// Both end with a newline. The JSON holds "dataset", "cases", "fingerprint" (orientation,
// per-case spacings and sizes, medians, foreground intensity per channel, lesions per
// class with a size histogram) and "plan" (target_spacing, median_shape_at_target,
// patch_size, batch_size). The text prints the plan as the config keys it sets.
std::string planText(const PlanReport& report);
std::string planJson(const PlanReport& report);

}  // namespace seg
