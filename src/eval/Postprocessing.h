#pragma once
// Connected-component postprocessing of predicted label maps, chosen on cross-validation
// predictions the way nnU-Net's determine_postprocessing does
// (nnunetv2/postprocessing/remove_connected_components.py), plus "remove components below a
// size" (docs/evaluation.md, "Cross-validation and postprocessing"). No torch, no ITK.
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/Image.h"
#include "core/LabelEncoding.h"
#include "metrics/EvalReport.h"

namespace seg {

struct PostprocessingStep {
  std::string kind;         // "keep_largest" (keep the largest connected component) or "remove_small"
                            // (drop components below minSizeMm3)
  int target = 0;           // 0 = all foreground classes together (nnU-Net's first step), else class
                            // (or region) 1..K-1
  double minSizeMm3 = 0.0;  // remove_small only: components with volume < this are removed
};

// A set of predictions scored under a criterion: per class (index c-1 for class or region
// c) the mean case Dice ignoring NaN (nnU-Net's np.nanmean) or the pooled lesion F1
// (2TP / (2TP + FN + FP) over all cases), and their plain mean over the classes (nnU-Net's
// foreground_mean: NaN when any class is NaN).
struct PostprocessingScores {
  double foreground = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> perClass;
};

// One candidate tried while choosing: scores of the current selection without and with it.
struct PostprocessingCandidate {
  PostprocessingStep step;
  PostprocessingScores before, after;
  bool applied = false;
};

struct Postprocessing {
  std::string criterion = "dice";         // "dice" or "lesion_f1" (what the steps were chosen by)
  int connectivity = 26;                  // 6, 18 or 26
  std::vector<PostprocessingStep> steps;  // applied in order
  // For the report (written to and read from the JSON; empty when not determined here).
  PostprocessingScores before, after;            // all cases without / with `steps`
  std::vector<PostprocessingCandidate> candidates;  // in the order they were tried
  int numCases = 0;
  int numClasses = 0;  // classes (regions) + 1 the steps were chosen for; 0 = not recorded
};

// "keep largest component of all foreground" / "... of class 2" / "remove components < 10 mm^3
// of class 1" style text for logs and reports.
std::string describeStep(const PostprocessingStep& step, const LabelEncoding& encoding);

// In place on a predicted label map. Classes: the mask of class `target` (all values other than
// background and the ignore label for target 0). Regions: the mask of region target-1
// (regionMask, i.e. every value of the region), target 0 all foreground values. Voxels of the
// components a step drops become background (0), as in nnU-Net's
// remove_all_but_largest_component_from_segmentation, which for regions equals dropping them
// from that region's mask and repainting the map in regions_class_order. keep_largest keeps
// every component of the largest size (ties all stay, as acvl_utils' filter does).
// Throws InputError when a step is unknown or its target is out of range.
void applyPostprocessing(LabelVolume& prediction, const Postprocessing& pp, const LabelEncoding& encoding);
void applyStep(LabelVolume& prediction, const PostprocessingStep& step, const LabelEncoding& encoding,
               int connectivity);

// Throws InputError (prefixed by `where`, e.g. the file) when a step's target is not a class of
// a model with `numClasses` outputs incl. background (regions: 1..regions), or when
// pp.numClasses is recorded and differs: a postprocessing.json of another run.
void checkPostprocessing(const Postprocessing& pp, int numClasses, const LabelEncoding& encoding,
                         const std::string& where);

// JSON, written atomically. readPostprocessing throws InputError naming the file and key.
Postprocessing readPostprocessing(const std::string& path);
void writePostprocessing(const Postprocessing& pp, const std::string& path);
std::string postprocessingToJson(const Postprocessing& pp);
Postprocessing postprocessingFromJson(const std::string& text, const std::string& where);

// The scores of a report under a criterion ("dice" or "lesion_f1").
PostprocessingScores scorePredictions(const EvalReport& report, const std::string& criterion);

struct PostprocessingSearch {
  std::string criterion = "dice";  // "dice" or "lesion_f1"
  int connectivity = 26;
  std::vector<double> minSizesMm3{10.0, 100.0, 1000.0};  // remove_small candidates; empty = none
  int threads = 1;
};

struct PostprocessingCase {
  std::string id;
  LabelVolume prediction;  // raw (not postprocessed)
  LabelVolume reference;
};
// Case i of the set (0 <= i < numCases); called several times per case (once per pass).
using PostprocessingCaseLoader = std::function<PostprocessingCase(size_t)>;

// Chooses the steps on a set of predictions, scored with `settings` (classes, encoding, empty
// rule, lesion options; surface distances are never computed). As nnU-Net:
//   1. keep_largest of all foreground, applied when the foreground mean improves (>) and no
//      class gets worse (<);
//   2. with more than one class (or region), keep_largest of each class in order, applied when
//      that class's score improves (>) over the selection so far;
// then (ours) 3. per class, the candidate minimum size whose remove_small gives that class's
// best score, applied when it improves (>) on the selection so far.
Postprocessing determinePostprocessing(size_t numCases, const PostprocessingCaseLoader& load,
                                       const EvalReport& settings, const PostprocessingSearch& search);

}  // namespace seg
