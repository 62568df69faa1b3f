#pragma once
// segeval's two modes: predict held-out volumes with a checkpoint (sliding window,
// NIfTI predictions in the input geometry) and/or score predictions against labels.
#include <string>
#include <vector>

#include "metrics/EvalReport.h"

namespace seg {

struct EvalJobOptions {
  std::string checkpoint;   // model mode when set
  std::string images;       // folder or file (model mode)
  std::string predictions;  // folder of existing predictions (metrics-only mode)
  std::string labels;       // folder or file; empty = no metrics
  std::string output;       // predictions/ and report files go here
  EmptyRule emptyRule = EmptyRule::Nan;
  LesionMatchOptions lesions;
  // Metrics-only mode: 0 = from a dataset.json in or above the labels folder, else the
  // largest label in predictions and references + 1.
  int numClasses = 0;
  bool surfaceDistances = true;
  bool htmlReport = true;
  // Inference; negative / empty = take from the checkpoint's config.
  double overlap = -1.0;
  int64_t tileBatch = 0;
  int64_t tileWorkers = -1;  // 0 = auto
  bool mirror = false;
  std::string device = "cpu";
  bool saveProbabilities = false;  // probabilities/<case>_class<c>.nii.gz, float32
};

// Runs the job; the report is also written to `output` and returned for printing.
EvalReport runEvalJob(const EvalJobOptions& options);

}  // namespace seg
