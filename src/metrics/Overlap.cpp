// Overlap per class (design.md section 7). Behaviour matched: Dice/IoU as nnU-Net's
// compute_metrics (nnunetv2/evaluation/evaluate_predictions.py: 2tp/(2tp+fp+fn), NaN only
// when tp+fp+fn == 0), with that both-empty value made an explicit rule. MONAI's
// ignore_empty differs: it gives NaN whenever the reference is empty, hiding false
// positives on empty cases.
#include "metrics/Overlap.h"

#include <algorithm>
#include <limits>
#include <cctype>

#include "core/Error.h"
#include "metrics/LabelChecks.h"

namespace seg {

using namespace metrics_detail;

namespace {
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
}  // namespace

double emptyValue(EmptyRule rule) {
  switch (rule) {
    case EmptyRule::One: return 1.0;
    case EmptyRule::Zero: return 0.0;
    case EmptyRule::Nan: break;
  }
  return kNan;
}

EmptyRule parseEmptyRule(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "nan") return EmptyRule::Nan;
  if (lower == "one") return EmptyRule::One;
  if (lower == "zero") return EmptyRule::Zero;
  throw InputError("empty rule: expected 'nan', 'one' or 'zero', got '" + text + "'");
}

std::string toString(EmptyRule rule) {
  switch (rule) {
    case EmptyRule::One: return "one";
    case EmptyRule::Zero: return "zero";
    case EmptyRule::Nan: break;
  }
  return "nan";
}

std::vector<ClassOverlap> overlapPerClass(const LabelVolume& pred, const LabelVolume& ref,
                                          int numClasses, EmptyRule rule) {
  checkNumClasses("overlapPerClass", numClasses);
  checkSameGrid("overlapPerClass", pred, ref);
  checkLabels("overlapPerClass", "prediction", pred.data, numClasses);
  checkLabels("overlapPerClass", "reference", ref.data, numClasses);

  // A joint histogram keeps the voxel loop branch-free; tp/fp/fn fall out of its
  // diagonal and margins.
  std::vector<int64_t> joint(256 * 256, 0);
  const size_t n = ref.data.size();
  for (size_t i = 0; i < n; ++i) ++joint[(static_cast<size_t>(pred.data[i]) << 8) | ref.data[i]];

  std::vector<ClassOverlap> result;
  for (int c = 1; c < numClasses; ++c) {
    ClassOverlap o;
    o.classIndex = c;
    for (int k = 0; k < numClasses; ++k) {
      o.predVoxels += joint[(c << 8) | k];
      o.refVoxels += joint[(k << 8) | c];
    }
    o.tp = joint[(c << 8) | c];
    o.fp = o.predVoxels - o.tp;
    o.fn = o.refVoxels - o.tp;
    if (o.refVoxels == 0 && o.predVoxels == 0) {
      o.dice = o.iou = emptyValue(rule);
    } else {
      o.dice = 2.0 * o.tp / static_cast<double>(2 * o.tp + o.fp + o.fn);
      o.iou = o.tp / static_cast<double>(o.tp + o.fp + o.fn);
    }
    result.push_back(o);
  }
  return result;
}

}  // namespace seg
