#include "train/FullVolumeValidator.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "core/Error.h"
#include "infer/PredictionLabels.h"
#include "metrics/EvalReport.h"

namespace seg {

namespace {
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
}

FullVolumeValidator::FullVolumeValidator(std::shared_ptr<const std::vector<LoadedCase>> cases,
                                         FullVolumeValidationOptions options)
    : cases_(std::move(cases)), options_(std::move(options)) {
  if (!cases_ || cases_->empty()) throw InputError("train.full_val_every: there are no validation cases to evaluate");
  options_.encoding.check("full-volume validation: label encoding");
  if (options_.encoding.hasRegions()) {
    options_.numClasses = static_cast<int>(options_.encoding.regions.size()) + 1;
  }
  if (options_.numClasses < 2) throw InputError("full-volume validation needs at least 2 classes");
  validateLesionMatchOptions(options_.lesions);
  for (const auto& c : *cases_) {
    if (c.label.data.empty()) throw InputError("full-volume validation: case '" + c.id + "' has no label");
  }
}

FullVolumeScores FullVolumeValidator::evaluate(const Network& network) const {
  const auto start = std::chrono::steady_clock::now();
  const int classes = options_.numClasses;
  // Scored as segeval scores (evaluateCase): regions, ignore label, lesion rules.
  EvalReport settings;
  settings.numClasses = classes;
  settings.emptyRule = options_.emptyRule;
  settings.lesionOptions = options_.lesions;
  settings.encoding = options_.encoding;
  settings.surfaceDistances = false;
  PredictionRule rule;
  rule.encoding = options_.encoding;
  rule.sigmoid = options_.encoding.hasRegions();
  std::vector<std::vector<double>> dice(classes - 1);
  // The scored cases, pooled as segeval pools them (the settings' cases are not read by
  // evaluateCase).
  EvalReport& scoredCases = settings;
  for (const auto& c : *cases_) {
    const auto& g = c.image.geometry;
    const auto image = torch::from_blob(const_cast<float*>(c.image.data.data()),
                                        {c.image.channels, g.size[2], g.size[1], g.size[0]}, torch::kFloat32);
    // As segeval (jobs/EvalJob.cpp) predicts a case: argmax, or regions painted from p > 0.5.
    const auto classesMap = labelsFromScores(slidingWindowInference(image, network, options_.window), rule, false);
    LabelVolume pred;
    pred.geometry = g;
    pred.data.assign(classesMap.data_ptr<uint8_t>(), classesMap.data_ptr<uint8_t>() + classesMap.numel());
    CaseResult scored = evaluateCase(c.id, pred, c.label, settings);
    for (int k = 0; k + 1 < classes; ++k) dice[k].push_back(scored.overlap[k].dice);
    scoredCases.cases.push_back(std::move(scored));
  }
  FullVolumeScores s;
  for (int cls = 1; cls < classes; ++cls) {
    double sum = 0;
    int n = 0;
    for (double d : dice[cls - 1])
      if (std::isfinite(d)) sum += d, ++n;
    s.dice.push_back(n ? sum / n : kNan);
    int64_t refLesions = 0, detected = 0, fp = 0;
    double lesionDiceSum = 0;
    for (const auto& scored : scoredCases.cases) {
      const CaseLesions& cl = scored.lesions;
      for (const auto& l : cl.lesions) {
        if (l.classIndex != cls || !l.counted) continue;
        ++refLesions;
        if (l.detected) ++detected, lesionDiceSum += l.dice;
      }
      if (cls < static_cast<int>(cl.falsePositives.size())) fp += cl.falsePositives[cls];
    }
    s.lesionSensitivity.push_back(refLesions ? static_cast<double>(detected) / refLesions : kNan);
    s.lesionDice.push_back(refLesions ? lesionDiceSum / refLesions : kNan);
    s.fpPerCase.push_back(static_cast<double>(fp) / static_cast<double>(cases_->size()));
    s.lesionF1.push_back(pooledLesionDetection(scoredCases, cls).f1);
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

std::vector<std::string> FullVolumeValidator::columnNames() const {
  std::vector<std::string> names;
  for (const char* what : {"vol_dice_", "vol_lesion_sensitivity_", "vol_lesion_dice_", "vol_fp_per_case_", "vol_lesion_f1_"})
    for (int c = 1; c < options_.numClasses; ++c)
      names.push_back(what + std::string(options_.encoding.hasRegions() ? "r" : "") + std::to_string(c));
  return names;
}

std::vector<double> FullVolumeValidator::columnValues(const FullVolumeScores& s) {
  std::vector<double> v;
  for (const auto* series : {&s.dice, &s.lesionSensitivity, &s.lesionDice, &s.fpPerCase, &s.lesionF1})
    v.insert(v.end(), series->begin(), series->end());
  return v;
}

}  // namespace seg
