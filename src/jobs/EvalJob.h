#pragma once
// segeval's two modes: predict held-out volumes with a checkpoint (sliding window,
// NIfTI predictions in the input geometry) and/or score predictions against labels.
#include <string>
#include <vector>

#include "eval/MemberScores.h"
#include "metrics/EvalReport.h"

namespace seg {

struct EvalJobOptions {
  std::string checkpoint;   // model mode when set (one checkpoint)
  // Model mode with these members when not empty (then `checkpoint` is ignored): more than one
  // is an ensemble, the members' probabilities averaged tile by tile (docs/evaluation.md).
  std::vector<std::string> checkpoints;
  bool memberScores = false;  // with labels and an ensemble: also score each member alone (members.csv)
  // Model mode: postprocessing.json to apply to each predicted class map; empty = the one next to
  // the first checkpoint or in its parent folder (RUN/fold_K/x.pt -> RUN/postprocessing.json), if any.
  std::string postprocessing;
  bool noPostprocessing = false;  // apply none, not even a discovered one
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
  bool saveProbabilities = false;  // probabilities/<case>_class<c>.nii.gz (regions: _region<r>), float32
  // Label encoding (docs/evaluation.md). Model mode: the checkpoint's regions and ignore
  // label. Metrics-only mode: dataset.json's, or these. `regions` is parseRegionList text.
  std::string regions;
  int ignoreLabel = -2;  // -2 = from the checkpoint / dataset.json, -1 = none, else the value
};

// "whole tumor=1,2,3;tumor core=2,3;enhancing tumor=3" -> regions with those names and
// values (each region's class order = its smallest value; metrics-only mode never paints).
// Throws InputError prefixed by `where`.
LabelEncoding parseRegionList(const std::string& text, const std::string& where);

// Runs the job; the report is also written to `output` and returned for printing.
EvalReport runEvalJob(const EvalJobOptions& options);
// Same; with memberScores, `members` receives each member's scores and the ensemble's (last).
EvalReport runEvalJob(const EvalJobOptions& options, std::vector<ModelScores>* members);

// The postprocessing.json model mode applies for `checkpoint` without --postprocessing: next to
// it, else in its parent folder; empty when there is none.
std::string findPostprocessingFile(const std::string& checkpoint);

}  // namespace seg
