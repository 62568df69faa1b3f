#pragma once
// segeval --cv RUN: predict every fold's validation cases with that fold's model, score the
// whole training set, then choose postprocessing on these predictions (nnU-Net's
// determine_postprocessing plus remove-small candidates; eval/Postprocessing.h) and write it to
// RUN/postprocessing.json (docs/evaluation.md, "Cross-validation and postprocessing").
#include <string>
#include <vector>

#include "eval/Postprocessing.h"
#include "jobs/Predictor.h"
#include "metrics/EvalReport.h"

namespace seg {

struct CrossValidationOptions {
  std::string run;                 // the run of segtrain --folds: RUN/fold_K/
  std::string output;              // predictions/, report files, folds.csv, postprocessed/
  std::string checkpoint = "final";  // final | best: RUN/fold_K/checkpoint_<this>.pt
  std::string select = "dice";     // dice | lesion: what postprocessing steps are chosen by
  std::vector<double> ppMinSizesMm3;  // remove_small candidates; empty = the lesion size-bin edges > 0
  bool postprocessing = true;      // false: no determination (--no-postprocessing)
  EmptyRule emptyRule = EmptyRule::Nan;
  LesionMatchOptions lesions;
  bool surfaceDistances = true;
  bool htmlReport = true;
  PredictorOptions predictor;
  int threads = 2;                 // cases scored in parallel while choosing postprocessing
};

struct CrossValidationResult {
  EvalReport report;                // every validation case, raw predictions
  std::vector<int> caseFold;        // fold of report.cases[i]
  std::vector<int> folds;           // fold numbers, in order
  bool postprocessed = false;
  Postprocessing postprocessing;    // when postprocessed
  EvalReport postprocessedReport;   // when postprocessed
};

// The fold folders of a run (RUN/fold_K, sorted by K). Throws InputError naming RUN when
// there are none.
std::vector<std::pair<int, std::string>> findFoldDirs(const std::string& run);

CrossValidationResult runCrossValidation(const CrossValidationOptions& options);

}  // namespace seg
