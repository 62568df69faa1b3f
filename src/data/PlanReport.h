#pragma once
// What `segdata plan DATASET [--json]` shows: the dataset fingerprint and the suggested
// plan of data/Fingerprint.h, as a text summary or as JSON.
#include <string>

#include "data/Dataset.h"
#include "data/ExperimentPlan.h"
#include "data/Fingerprint.h"

namespace seg {

struct PlanReport {
  DatasetManifest manifest;  // name, channel names and class names for the report
  DatasetFingerprint fingerprint;
  Plan plan;
  // Set by planDatasetForMemory (segdata plan --gpu-memory-gb / --preset): the plan to a GPU
  // memory target (data/ExperimentPlan.h), which the text and JSON then show instead of `plan`.
  bool hasExperiment = false;
  ExperimentPlan experiment;
};

// Fingerprints the training cases and suggests a plan; read errors are InputErrors naming
// the case (fingerprintDataset).
PlanReport planDataset(const DatasetManifest& manifest, const PlanOptions& options = {});
// The same fingerprint, planned to a GPU memory target (planExperiment).
PlanReport planDatasetForMemory(const DatasetManifest& manifest, const ExperimentPlanOptions& options);

// Both end with a newline. The JSON holds "dataset", "cases", "fingerprint" (orientation,
// per-case spacings and sizes, medians, foreground intensity per channel, lesions per
// class with a size histogram) and "plan" (target_spacing, median_shape_at_target,
// patch_size, batch_size). The text prints the plan as the config keys it sets. With an
// experiment plan, "plan" holds preset, gpu_memory_gb, budget_gib, target_spacing,
// median_shape_at_target, patch_size, batch_size, batch_dice, the network (name, features,
// strides, kernel_sizes, encoder_blocks, decoder_convs, parameters) and the estimate in GiB
// (activations, loss, parameters, workspace, total).
std::string planText(const PlanReport& report);
std::string planJson(const PlanReport& report);

}  // namespace seg
