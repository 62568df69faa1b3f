#include "train/ProgressPlot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/TextEscape.h"

namespace seg {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr int kWidth = 760;
constexpr int kPanelHeight = 200;
constexpr int kLeft = 70, kRight = 190, kTop = 34, kGap = 44;
const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::vector<std::string> splitCsv(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ',')) cells.push_back(trim(cell));
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

std::string tickLabel(double v, double step) {
  char text[32];
  if (v == 0.0) return "0";
  const double a = std::fabs(v);
  if (a < 1e-3 || a >= 1e5) {
    std::snprintf(text, sizeof text, "%.1e", v);
  } else {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    std::snprintf(text, sizeof text, "%.*f", std::min(decimals, 6), v);
  }
  return text;
}

struct Panel {
  std::string title;
  std::vector<int> columns;
  bool unitRange = false;  // fixed [0, 1] (Dice)
};

void drawPanel(std::ostringstream& svg, const MetricsTable& t, const Panel& panel, int top, int epochCol,
               double xLo, double xHi) {
  const int left = kLeft, right = kWidth - kRight, bottom = top + kPanelHeight;
  double yLo = std::numeric_limits<double>::infinity(), yHi = -yLo;
  for (int c : panel.columns)
    for (const auto& row : t.rows)
      if (std::isfinite(row[c])) yLo = std::min(yLo, row[c]), yHi = std::max(yHi, row[c]);
  if (panel.unitRange) yLo = 0.0, yHi = 1.0;
  if (!std::isfinite(yLo)) yLo = 0.0, yHi = 1.0;
  if (yHi - yLo < 1e-12 * std::max(1.0, std::fabs(yHi))) {
    const double pad = yHi == 0.0 ? 1.0 : 0.1 * std::fabs(yHi);
    yLo -= pad, yHi += pad;
  }
  const auto yTicks = niceTicks(yLo, yHi, 5);
  if (!panel.unitRange && !yTicks.empty()) yLo = std::min(yLo, yTicks.front()), yHi = std::max(yHi, yTicks.back());
  const auto sx = [&](double x) { return left + (x - xLo) / (xHi - xLo) * (right - left); };
  const auto sy = [&](double y) { return bottom - (y - yLo) / (yHi - yLo) * (bottom - top); };

  svg << "<g class=\"panel\">\n<text x=\"" << left << "\" y=\"" << top - 8 << "\" class=\"title\">"
      << xmlEscape(panel.title) << "</text>\n";
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << right - left << "\" height=\"" << kPanelHeight
      << "\" fill=\"none\" stroke=\"#888\"/>\n";
  for (double y : yTicks) {
    if (y < yLo - 1e-12 || y > yHi + 1e-12) continue;
    const double step = yTicks.size() > 1 ? yTicks[1] - yTicks[0] : 1.0;
    svg << "<line x1=\"" << left << "\" x2=\"" << right << "\" y1=\"" << num(sy(y)) << "\" y2=\"" << num(sy(y))
        << "\" stroke=\"#e4e4e4\"/><text x=\"" << left - 6 << "\" y=\"" << num(sy(y) + 4)
        << "\" text-anchor=\"end\">" << tickLabel(y, step) << "</text>\n";
  }
  for (double x : niceTicks(xLo, xHi, 8)) {
    if (x < xLo - 1e-9 || x > xHi + 1e-9 || x != std::floor(x)) continue;
    svg << "<line x1=\"" << num(sx(x)) << "\" x2=\"" << num(sx(x)) << "\" y1=\"" << bottom << "\" y2=\"" << bottom + 4
        << "\" stroke=\"#888\"/><text x=\"" << num(sx(x)) << "\" y=\"" << bottom + 16
        << "\" text-anchor=\"middle\">" << tickLabel(x, 1.0) << "</text>\n";
  }
  int legendRow = 0;
  for (int c : panel.columns) {
    const char* colour = kPalette[legendRow % (sizeof kPalette / sizeof kPalette[0])];
    std::ostringstream points;
    int n = 0;
    double lastX = 0, lastY = 0;
    // Validation runs every K epochs: rows without a value are skipped and the line
    // joins the epochs that have one.
    for (const auto& row : t.rows) {
      if (!std::isfinite(row[c]) || !std::isfinite(row[epochCol])) continue;
      lastX = sx(row[epochCol]), lastY = sy(row[c]);
      points << (n++ ? " " : "") << num(lastX) << "," << num(lastY);
    }
    const std::string id = "series-" + xmlEscape(t.columns[c]);
    if (n == 1) {
      svg << "<circle id=\"" << id << "\" cx=\"" << num(lastX) << "\" cy=\"" << num(lastY) << "\" r=\"3\" fill=\""
          << colour << "\"/>\n";
    } else if (n > 1) {
      svg << "<polyline id=\"" << id << "\" fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.6\" points=\""
          << points.str() << "\"/>\n";
    }
    const int ly = top + 14 + 18 * legendRow++;
    svg << "<line x1=\"" << right + 12 << "\" x2=\"" << right + 32 << "\" y1=\"" << ly - 4 << "\" y2=\"" << ly - 4
        << "\" stroke=\"" << colour << "\" stroke-width=\"2\"/><text x=\"" << right + 38 << "\" y=\"" << ly << "\">"
        << xmlEscape(t.columns[c]) << (n == 0 ? " (no values)" : "") << "</text>\n";
  }
  svg << "</g>\n";
}

}  // namespace

int MetricsTable::column(const std::string& name) const {
  const auto it = std::find(columns.begin(), columns.end(), name);
  return it == columns.end() ? -1 : static_cast<int>(it - columns.begin());
}

MetricsTable parseMetricsCsv(const std::string& text, const std::string& source) {
  MetricsTable t;
  std::istringstream in(text);
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (trim(line).empty()) continue;
    auto cells = splitCsv(line);
    if (t.columns.empty()) {
      t.columns = cells;
      continue;
    }
    if (cells.size() != t.columns.size()) {
      throw InputError(source + ":" + std::to_string(lineNo) + ": " + std::to_string(cells.size()) +
                       " cells, the header has " + std::to_string(t.columns.size()));
    }
    std::vector<double> row;
    for (const auto& cell : cells) {
      if (cell.empty() || cell == "nan" || cell == "-nan") {
        row.push_back(kNan);
        continue;
      }
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      if (end == cell.c_str() || *end != '\0') {
        throw InputError(source + ":" + std::to_string(lineNo) + ": '" + cell + "' is not a number");
      }
      row.push_back(v);
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

MetricsTable readMetricsCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return parseMetricsCsv(text.str(), path);
}

std::vector<double> niceTicks(double lo, double hi, int count) {
  if (!(hi > lo) || count < 1 || !std::isfinite(lo) || !std::isfinite(hi)) return {};
  const double raw = (hi - lo) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double v = std::floor(lo / step) * step; v <= hi + step * 0.5 && ticks.size() < 100; v += step) {
    ticks.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  return ticks;
}

std::string renderProgressSvg(const MetricsTable& t, const std::string& title) {
  const int epochCol = t.column("epoch");
  if (epochCol < 0) throw InputError("metrics table has no 'epoch' column");
  std::vector<Panel> panels{{"train loss", {}, false}, {"validation Dice", {}, true}, {"learning rate", {}, false}};
  // Full-volume lesion metrics (sensitivity, F1, lesion Dice: all in [0, 1]) get a panel of their
  // own, drawn only when the run validates full volumes; false positives per case is a count and
  // stays in metrics.csv.
  Panel lesion{"full-volume lesion metrics", {}, true};
  for (int c = 0; c < static_cast<int>(t.columns.size()); ++c) {
    const auto& name = t.columns[c];
    if (name == "train_loss") panels[0].columns.push_back(c);
    if (name.rfind("vol_lesion_", 0) == 0)  // sensitivity, lesion Dice, F1 (vol_fp_per_case_ is not)
      lesion.columns.push_back(c);
    else if (name.find("dice") != std::string::npos)
      panels[1].columns.push_back(c);
    if (name == "lr") panels[2].columns.push_back(c);
  }
  if (!lesion.columns.empty()) panels.insert(panels.begin() + 2, lesion);
  double xLo = std::numeric_limits<double>::infinity(), xHi = -xLo;
  for (const auto& row : t.rows)
    if (std::isfinite(row[epochCol])) xLo = std::min(xLo, row[epochCol]), xHi = std::max(xHi, row[epochCol]);
  if (!std::isfinite(xLo)) xLo = 0, xHi = 1;
  xLo = std::min(xLo, 0.0);
  if (xHi <= xLo) xHi = xLo + 1;

  const int height = kTop + static_cast<int>(panels.size()) * (kPanelHeight + kGap) + 10;
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << kWidth << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << kWidth << " " << height << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
      << "<style>.title{font-size:13px;font-weight:bold}</style>\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << kLeft << "\" y=\"16\" class=\"title\">" << xmlEscape(title) << " (x: epoch)</text>\n";
  int top = kTop + 14;
  for (const auto& panel : panels) {
    drawPanel(svg, t, panel, top, epochCol, xLo, xHi);
    top += kPanelHeight + kGap;
  }
  svg << "</svg>\n";
  return svg.str();
}

void writeProgressSvg(const std::string& metricsCsv, const std::string& svgPath, const std::string& title) {
  writeFileAtomically(svgPath, renderProgressSvg(readMetricsCsv(metricsCsv), title));
}

}  // namespace seg
