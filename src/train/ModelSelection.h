#pragma once
// Which epoch's weights become checkpoint_best.pt (train.select_by, docs/training.md
// "Choosing the best checkpoint"). Pure rules, no tensors: the Trainer feeds them the
// pseudo-Dice EMA or the full-volume lesion scores (train/FullVolumeValidator.h).
#include <string>
#include <vector>

namespace seg {

enum class SelectBy {
  PseudoDice,         // EMA (0.9) of the mean patch pseudo-Dice, at every validation (nnU-Net)
  LesionF1,           // mean over foreground classes of the pooled lesion F1, at each full validation
  LesionSensitivity,  // mean over foreground classes of the pooled lesion sensitivity, likewise
};

// "pseudo_dice" | "lesion_f1" | "lesion_sensitivity"; InputError naming train.select_by otherwise.
SelectBy parseSelectBy(const std::string& name);
const char* selectByName(SelectBy criterion);
// The lesion criteria are scored by the full-volume validation (train.full_val_every > 0).
inline bool needsFullValidation(SelectBy criterion) { return criterion != SelectBy::PseudoDice; }

// The score a lesion criterion gives one full validation: the mean over foreground classes
// (or regions) of the per-class values, ignoring NaN (a class without reference or
// predicted lesions under the nan empty rule); NaN when no class has a value.
double meanOverClasses(const std::vector<double>& perClass);

// A new best needs a number strictly above the best so far (ties keep the earlier, as
// nnU-Net's `>`); NaN never improves. `best` is -1 before the first (every score is >= 0).
bool isImprovement(double candidate, double best);

}  // namespace seg
