#pragma once
// Optional full-volume validation during training (train.full_val_every): the validation
// cases' whole volumes through sliding-window inference (infer/SlidingWindow.h), scored
// as segeval scores them (metrics/): voxel Dice per class, lesion sensitivity, mean lesion
// Dice and false-positive components per case. Patch pseudo-Dice (Trainer::validate) only
// sees fixed patches; this sees what a user will see, at the cost of a full inference pass.
#include <memory>
#include <string>
#include <vector>

#include "core/LabelEncoding.h"
#include "data/CaseLoader.h"
#include "infer/SlidingWindow.h"
#include "metrics/LesionMatching.h"
#include "metrics/Overlap.h"

namespace seg {

struct FullVolumeValidationOptions {
  SlidingWindowOptions window;
  int numClasses = 2;                // classes incl. background; with regions unused (regions + 1)
  EmptyRule emptyRule = EmptyRule::Nan;
  LesionMatchOptions lesions;        // connectivity, size bins, matching (as segeval)
  // The run's regions (one sigmoid channel each, p > 0.5, scored per region) and ignore
  // label (voxels left out), exactly as segeval scores them (metrics/EvalReport.h).
  LabelEncoding encoding;
};

// Per foreground class (or region) 1..numClasses-1 (index 0 = class/region 1).
struct FullVolumeScores {
  std::vector<double> dice;               // mean over cases of the voxel Dice (finite values; NaN if none)
  std::vector<double> lesionSensitivity;  // detected / reference lesions, pooled over cases; NaN if none
  std::vector<double> lesionDice;         // mean over reference lesions (missed = 0), pooled; NaN if none
  std::vector<double> fpPerCase;          // predicted components touching no reference lesion, per case
  // Pooled lesion F1 = 2 TP / (2 TP + FN + FP), counts summed over the cases first: TP =
  // detected reference lesions, FN = missed ones, FP = predicted components matching none;
  // segeval's pooled lesion detection (metrics/EvalReport.h pooledLesionDetection), so the
  // empty rule decides a class without reference and predicted lesions.
  std::vector<double> lesionF1;
  double seconds = 0.0;
};

class FullVolumeValidator {
 public:
  // Cases without a label are rejected (InputError naming the case).
  FullVolumeValidator(std::shared_ptr<const std::vector<LoadedCase>> cases, FullVolumeValidationOptions options);

  // `network` maps a tile batch (N, C, z, y, x) to logits (N, K, z, y, x); the caller puts
  // the model in eval mode and disables gradients.
  FullVolumeScores evaluate(const Network& network) const;

  // metrics.csv column names, in the order of columnValues: vol_dice_<c>,
  // vol_lesion_sensitivity_<c>, vol_lesion_dice_<c>, vol_fp_per_case_<c>, vol_lesion_f1_<c>
  // per class (with regions: vol_dice_r<r> ... per region r = 1..R).
  std::vector<std::string> columnNames() const;
  static std::vector<double> columnValues(const FullVolumeScores& scores);
  size_t caseCount() const { return cases_->size(); }

 private:
  std::shared_ptr<const std::vector<LoadedCase>> cases_;
  FullVolumeValidationOptions options_;
};

}  // namespace seg
