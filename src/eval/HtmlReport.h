#pragma once
// report.html: one self-contained file (inline SVG chart, PNG overlays as base64 data
// URIs, no scripts, no external resources) next to the CSV/JSON report.
#include <map>
#include <string>
#include <vector>

#include "core/Image.h"
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

}  // namespace seg
