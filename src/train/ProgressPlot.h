#pragma once
// The training-curve picture, progress.svg, redrawn from metrics.csv after every epoch
// (so a resumed run draws its whole history). Three panels over the epoch axis: train
// loss; every Dice column (validation pseudo-Dice per class, its EMA, full-volume Dice);
// learning rate. Plain SVG 1.1 written by hand: no Python or plotting library at run time.
// No torch.
#include <string>
#include <vector>

namespace seg {

// A numeric CSV with a header row; empty cells and "nan" are NaN.
struct MetricsTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;  // rows[i].size() == columns.size()
  int column(const std::string& name) const;  // -1 when absent
};

// Throws InputError naming the file and line on a malformed row.
MetricsTable readMetricsCsv(const std::string& path);
MetricsTable parseMetricsCsv(const std::string& text, const std::string& source);

// Needs an "epoch" column; each plotted series is an SVG <polyline> with
// id="series-<column>" (a lone point is a <circle>), listed in its panel's legend.
std::string renderProgressSvg(const MetricsTable& table, const std::string& title);

// readMetricsCsv + renderProgressSvg + an atomic write (core/AtomicFile.h).
void writeProgressSvg(const std::string& metricsCsv, const std::string& svgPath, const std::string& title);

// Tick positions covering [lo, hi] at a 1-2-5 step (about `count` of them).
std::vector<double> niceTicks(double lo, double hi, int count);

}  // namespace seg
