#pragma once
// The two-case report the report-writer and table tests share (tests/unit/eval/).
#include <cstdint>
#include <limits>

#include "metrics/EvalReport.h"

namespace seg::test {

inline ClassOverlap overlap(int c, int64_t tp, int64_t fp, int64_t fn, double dice, double iou) {
  ClassOverlap o;
  o.classIndex = c;
  o.tp = tp;
  o.fp = fp;
  o.fn = fn;
  o.refVoxels = tp + fn;
  o.predVoxels = tp + fp;
  o.dice = dice;
  o.iou = iou;
  return o;
}

inline Lesion lesion(int c, int id, int64_t voxels, int bin, bool detected, double dice) {
  Lesion l;
  l.classIndex = c;
  l.id = id;
  l.voxels = voxels;
  l.volumeMm3 = 2.0 * static_cast<double>(voxels);
  l.bin = bin;
  l.detected = detected;
  l.dice = dice;
  return l;
}

// Two cases with 2 mm^3 voxels, numbers as support/LabelFixtures.h's WorkedExample produces them:
//   case_h  class 1: voxel tp 18 fp 7 fn 9 (Dice 36/52); lesions 3 vox missed, 24 vox Dice
//           0.75; 1 FP.  class 2: tp 3 fp 1 fn 2 (Dice 6/9); lesions 4 vox Dice 4/7, 1 vox
//           Dice 1; no FP.
//   case_e  class 1: one 2-voxel lesion found exactly (Dice 1). class 2 empty in both (NaN).
inline EvalReport workedReport() {
  constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
  EvalReport report;
  report.numClasses = 3;
  report.emptyRule = EmptyRule::Nan;
  CaseResult h;
  h.caseId = "case_h";
  h.overlap = {overlap(1, 18, 7, 9, 36.0 / 52.0, 18.0 / 34.0), overlap(2, 3, 1, 2, 6.0 / 9.0, 0.5)};
  h.lesions.lesions = {lesion(1, 1, 3, 0, false, 0.0), lesion(1, 2, 24, 1, true, 0.75),
                       lesion(2, 1, 4, 0, true, 4.0 / 7.0), lesion(2, 2, 1, 0, true, 1.0)};
  h.lesions.falsePositives = {0, 1, 0};
  CaseResult e;
  e.caseId = "case_e";
  e.overlap = {overlap(1, 2, 0, 0, 1.0, 1.0), overlap(2, 0, 0, 0, kNan, kNan)};
  e.lesions.lesions = {lesion(1, 1, 2, 0, true, 1.0)};
  e.lesions.falsePositives = {0, 0, 0};
  report.cases = {h, e};
  return report;
}

}  // namespace seg::test
