#pragma once
// report.html: one self-contained file (inline SVG chart, PNG overlays as base64 data
// URIs, no scripts, no external resources) next to the CSV/JSON report.
#include <map>
#include <string>
#include <vector>

#include "core/Image.h"
#include "eval/MemberScores.h"
#include "metrics/EvalReport.h"

namespace seg {

// An 8-bit RGB PNG (colour type 2, filter 0 on every row, zlib-compressed IDAT).
std::string encodePng(const std::vector<uint8_t>& rgb, int64_t width, int64_t height);
std::string base64(const std::string& bytes);

struct OverlayFigure {
  std::string title;  // "case_003, class 1, slice z=12"
  std::string png;    // encoded PNG bytes
};

// Axial slice z of the reference/prediction of `classIndex` over the image (channel 0,
// grey, min-max scaled over the slice; black when `image` is null): true positives
// yellow, missed reference voxels green, false-positive voxels red. Upscaled by an
// integer factor to about 256 px. Rows from y = 0 at the top, as the voxel grid.
OverlayFigure renderOverlay(const Volume* image, const LabelVolume& ref, const LabelVolume& pred,
                            int classIndex, int64_t z, const std::string& title);

// The page: conventions, per-class summary, an SVG chart of sensitivity and mean lesion
// Dice per size bin, and the figures.
std::string renderReportHtml(const EvalReport& report, const std::vector<OverlayFigure>& figures);

// Where a scored case's files are, to draw report.html's overlays afterwards.
struct CaseSources {
  std::string image;  // empty in metrics-only mode
  std::string prediction;
  std::string label;
};
// outputDir/report.html (atomically) with overlays of the (up to) 3 cases with the lowest
// mean Dice, at the slice with the most reference voxels of their worst class, and of the
// (up to) 4 smallest missed lesions; the volumes are read back from `sources` by case id.
void writeHtmlReport(const EvalReport& report, const std::map<std::string, CaseSources>& sources,
                     const std::string& outputDir);

// --- Cross-validation (segeval --cv; docs/evaluation.md, "Cross-validation and postprocessing").
// One fold's validation cases, scored with the pooled report's settings.
struct CrossValidationFold {
  int fold = 0;
  std::string dir;
  EvalReport report;
};
// An HTML section: per fold (cases, mean Dice, lesion sensitivity and F1 per class) and the
// pooled cross-validation row, then `postprocessing` (rows of already-escaped table HTML, e.g.
// chosen steps with before/after scores; empty = none).
std::string renderCrossValidationSection(const std::vector<CrossValidationFold>& folds, const EvalReport& pooled,
                                         const std::string& postprocessing);
// Inserts `sectionHtml` at the end of outputDir/report.html's body (rewritten atomically).
// Throws InputError naming the file when it is missing or has no body end.
void appendHtmlSection(const std::string& outputDir, const std::string& sectionHtml);

// --- Ensemble members (segeval --checkpoint A B ... --member-scores; docs/evaluation.md, "Ensembles").
// An HTML section: one row per model (the members alone, then the ensemble) with mean Dice, pooled
// lesion sensitivity and lesion F1 per class; add it with appendHtmlSection.
std::string renderEnsembleMembersSection(const std::vector<ModelScores>& models);

}  // namespace seg
