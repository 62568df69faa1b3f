#pragma once
// segeval --member-scores: an ensemble's members scored alone beside the ensemble, so the
// ensemble's gain over each fold is visible (members.csv, a console table, a report.html
// section; docs/evaluation.md, "Ensembles").
#include <string>
#include <vector>

#include "metrics/EvalReport.h"

namespace seg {

// One model's scores over the same cases: a member alone, or the ensemble.
struct ModelScores {
  std::string model;       // "fold_0" (the checkpoint's folder when those differ) / "member 1" / "ensemble"
  std::string checkpoint;  // the member's file; for the ensemble its members joined by ' '
  EvalReport report;
};

// Per class (or region) c = 1..K-1 of a report: mean case Dice ignoring NaN, pooled lesion
// sensitivity (recall) and lesion F1 (counts summed over the cases before the ratios).
struct ModelClassSummary {
  double meanDice = 0.0;
  double lesionSensitivity = 0.0;
  double lesionF1 = 0.0;
};
ModelClassSummary summarizeClass(const EvalReport& report, int c);

// Model names for members' checkpoints: their parent folder names when those are all
// different (RUN/fold_0/checkpoint_final.pt -> fold_0), else "member 1", "member 2", ...
std::vector<std::string> memberNames(const std::vector<std::string>& checkpoints);

// members.csv: model, checkpoint, class, cases, mean_dice, lesion_sensitivity, lesion_f1; one
// row per model and class (or region), written atomically.
void writeMembersCsv(const std::vector<ModelScores>& models, const std::string& path);

// "model | Dice <class> ... | lesion F1 <class> ..." with one row per model (the ensemble last).
std::string formatMemberTable(const std::vector<ModelScores>& models);

}  // namespace seg
