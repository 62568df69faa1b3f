#include "train/ModelSelection.h"

#include <cmath>

#include "core/Error.h"
#include "metrics/EvalReport.h"

namespace seg {

SelectBy parseSelectBy(const std::string& name) {
  if (name == "pseudo_dice") return SelectBy::PseudoDice;
  if (name == "lesion_f1") return SelectBy::LesionF1;
  if (name == "lesion_sensitivity") return SelectBy::LesionSensitivity;
  throw InputError("train.select_by: expected one of pseudo_dice, lesion_f1, lesion_sensitivity, got '" + name + "'");
}

const char* selectByName(SelectBy criterion) {
  switch (criterion) {
    case SelectBy::PseudoDice: return "pseudo_dice";
    case SelectBy::LesionF1: return "lesion_f1";
    case SelectBy::LesionSensitivity: return "lesion_sensitivity";
  }
  return "pseudo_dice";
}

double meanOverClasses(const std::vector<double>& perClass) { return meanIgnoringNan(perClass); }

bool isImprovement(double candidate, double best) { return !std::isnan(candidate) && candidate > best; }

}  // namespace seg
