#include "eval/HtmlReport.h"

#include <itk_zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/AtomicFile.h"
#include "core/Error.h"
#include "data/NiftiIO.h"
#include "core/TextEscape.h"
#include "eval/ReportFormat.h"

namespace seg {

namespace {

void putBigEndian(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

void putChunk(std::string& out, const char* type, const std::string& data) {
  putBigEndian(out, static_cast<uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  putBigEndian(out, static_cast<uint32_t>(crc));
}

// Grouped bars per (class, bin): sensitivity and mean lesion Dice, 0..1.
std::string sizeBinChart(const EvalReport& report) {
  const auto rows = sizeBinRows(report);
  const int groupWidth = 64, chartHeight = 160, top = 20, left = 40;
  const int width = left + groupWidth * static_cast<int>(rows.size()) + 20;
  const int height = top + chartHeight + 60;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"10\">\n";
  for (int t = 0; t <= 4; ++t) {
    const double y = top + chartHeight * (1.0 - t / 4.0);
    svg << "<line x1=\"" << left << "\" x2=\"" << width - 10 << "\" y1=\"" << y << "\" y2=\"" << y
        << "\" stroke=\"#ddd\"/><text x=\"" << left - 4 << "\" y=\"" << y + 3
        << "\" text-anchor=\"end\">" << fixed(t / 4.0, 2) << "</text>\n";
  }
  for (size_t k = 0; k < rows.size(); ++k) {
    const SizeBinRow& r = rows[k];
    const int x = left + static_cast<int>(k) * groupWidth + 8;
    const double values[2] = {r.sensitivity, r.meanDice};
    const char* colours[2] = {"#4477aa", "#ee7733"};
    for (int b = 0; b < 2; ++b) {
      if (!std::isfinite(values[b])) continue;
      const double h = chartHeight * std::clamp(values[b], 0.0, 1.0);
      svg << "<rect x=\"" << x + b * 22 << "\" y=\"" << top + chartHeight - h
          << "\" width=\"20\" height=\"" << h << "\" fill=\"" << colours[b] << "\"><title>"
          << (b == 0 ? "sensitivity " : "mean lesion Dice ") << fixed(values[b], 3)
          << "</title></rect>\n";
    }
    const int bin = static_cast<int>(k % report.lesionOptions.sizeBinsMm3.size());
    svg << "<text x=\"" << x + 21 << "\" y=\"" << top + chartHeight + 14 << "\" text-anchor=\"middle\">"
        << xmlEscape(sizeBinLabel(report.lesionOptions.sizeBinsMm3, bin)) << "</text>"
        << "<text x=\"" << x + 21 << "\" y=\"" << top + chartHeight + 26
        << "\" text-anchor=\"middle\">c" << r.classIndex << " n=" << r.lesions << "</text>\n";
  }
  svg << "<rect x=\"" << left << "\" y=\"" << height - 18
      << "\" width=\"10\" height=\"10\" fill=\"#4477aa\"/><text x=\"" << left + 14 << "\" y=\""
      << height - 9 << "\">sensitivity</text><rect x=\"" << left + 90 << "\" y=\"" << height - 18
      << "\" width=\"10\" height=\"10\" fill=\"#ee7733\"/><text x=\"" << left + 104 << "\" y=\""
      << height - 9 << "\">mean lesion Dice</text>\n</svg>\n";
  return svg.str();
}

}  // namespace

std::string encodePng(const std::vector<uint8_t>& rgb, int64_t width, int64_t height) {
  if (width <= 0 || height <= 0 || static_cast<int64_t>(rgb.size()) != width * height * 3) {
    throw InternalError("encodePng: " + std::to_string(rgb.size()) + " bytes for " +
                        std::to_string(width) + "x" + std::to_string(height) + " RGB");
  }
  std::string raw;
  raw.reserve(static_cast<size_t>((width * 3 + 1) * height));
  for (int64_t y = 0; y < height; ++y) {
    raw += '\0';  // filter type 0 (none)
    raw.append(reinterpret_cast<const char*>(rgb.data() + y * width * 3), static_cast<size_t>(width * 3));
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &size,
                reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 6) != Z_OK) {
    throw InternalError("encodePng: zlib compress2 failed");
  }
  packed.resize(size);
  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string header;
  putBigEndian(header, static_cast<uint32_t>(width));
  putBigEndian(header, static_cast<uint32_t>(height));
  header += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bit, RGB, deflate, filter 0, no interlace
  putChunk(out, "IHDR", header);
  putChunk(out, "IDAT", packed);
  putChunk(out, "IEND", "");
  return out;
}

std::string base64(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += table[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

OverlayFigure renderOverlay(const Volume* image, const LabelVolume& ref, const LabelVolume& pred,
                            int classIndex, int64_t z, const std::string& title) {
  const auto& g = ref.geometry;
  const int64_t nx = g.size[0], ny = g.size[1];
  z = std::clamp<int64_t>(z, 0, g.size[2] - 1);
  const int64_t scale = std::max<int64_t>(1, 256 / std::max(nx, ny));
  std::vector<double> grey(static_cast<size_t>(nx * ny), 0.0);
  if (image && image->geometry.size == g.size) {
    const float* slice = image->data.data() + z * nx * ny;  // channel 0
    const auto [lo, hi] = std::minmax_element(slice, slice + nx * ny);
    const double range = *hi > *lo ? *hi - *lo : 1.0;
    for (int64_t i = 0; i < nx * ny; ++i) grey[i] = 200.0 * (slice[i] - *lo) / range;
  }
  std::vector<uint8_t> rgb(static_cast<size_t>(nx * scale * ny * scale * 3));
  for (int64_t y = 0; y < ny * scale; ++y) {
    for (int64_t x = 0; x < nx * scale; ++x) {
      const int64_t i = (z * ny + y / scale) * nx + x / scale;
      const bool r = ref.data[i] == classIndex, p = pred.data[i] == classIndex;
      const double v = grey[(y / scale) * nx + x / scale];
      double c[3] = {v, v, v};
      if (r && p) c[0] = 255, c[1] = 220, c[2] = 0;        // TP yellow
      else if (r) c[0] = v * 0.3, c[1] = 200, c[2] = v * 0.3;  // missed green
      else if (p) c[0] = 230, c[1] = v * 0.3, c[2] = v * 0.3;  // FP red
      uint8_t* px = &rgb[static_cast<size_t>((y * nx * scale + x) * 3)];
      for (int k = 0; k < 3; ++k) px[k] = static_cast<uint8_t>(std::clamp(c[k], 0.0, 255.0));
    }
  }
  return {title, encodePng(rgb, nx * scale, ny * scale)};
}

std::string renderReportHtml(const EvalReport& report, const std::vector<OverlayFigure>& figures) {
  validateReport(report);
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>segeval report</title>\n"
       << "<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:"
          "collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:"
          "#f4f4f4}figure{display:inline-block;margin:0 1em 1em 0}figcaption{font-size:small}"
          "</style></head><body>\n"
       << "<h1>segeval report</h1>\n<p>" << report.cases.size() << " case(s), "
       << report.numClasses - 1
       << (report.encoding.hasRegions() ? " region(s), each scored as a binary class" : " foreground class(es)")
       << ".</p>\n<p><b>Conventions:</b> "
       << xmlEscape(describeConventions(report))
       << ". HD95/ASSD in mm (MONAI definitions, docs/evaluation.md).</p>\n";

  html << (report.encoding.hasRegions() ? "<h2>Per region</h2>\n<table><tr><th>region</th>"
                                         : "<h2>Per class</h2>\n<table><tr><th>class</th>")
       << "<th>mean Dice</th><th>mean IoU</th>"
          "<th>mean HD95</th><th>mean ASSD</th><th>lesions</th><th>detected</th><th>FP</th>"
          "<th>lesion F1</th><th>lesion-wise Dice</th></tr>\n";
  for (int c = 1; c < report.numClasses; ++c) {
    std::vector<double> dice, iou, hd, assd, lw;
    for (const CaseResult& cs : report.cases) {
      const ClassOverlap& o = cs.overlap[c - 1];
      dice.push_back(o.dice);
      iou.push_back(o.iou);
      hd.push_back(o.hd95);
      assd.push_back(o.assd);
      lw.push_back(lesionWiseDice(cs.lesions, c, report.emptyRule));
    }
    const LesionDetection d = pooledLesionDetection(report, c);
    html << "<tr><th>" << xmlEscape(className(report, c)) << "</th><td>" << fixed(meanIgnoringNan(dice), 4)
         << "</td><td>" << fixed(meanIgnoringNan(iou), 4) << "</td><td>" << fixed(meanIgnoringNan(hd), 2)
         << "</td><td>" << fixed(meanIgnoringNan(assd), 2) << "</td><td>" << d.tp + d.fn << "</td><td>"
         << d.tp << "</td><td>" << d.fp << "</td><td>" << fixed(d.f1, 3) << "</td><td>"
         << fixed(meanIgnoringNan(lw), 4) << "</td></tr>\n";
  }
  html << "</table>\n<h2>Lesion detection by size</h2>\n" << sizeBinChart(report);

  html << "<h2>Per case</h2>\n<table><tr><th>case</th>";
  for (int c = 1; c < report.numClasses; ++c) {
    html << "<th>Dice " << xmlEscape(className(report, c)) << "</th><th>HD95</th>";
  }
  html << "</tr>\n";
  for (const CaseResult& cs : report.cases) {
    html << "<tr><th>" << xmlEscape(cs.caseId) << "</th>";
    for (const ClassOverlap& o : cs.overlap) {
      html << "<td>" << fixed(o.dice, 4) << "</td><td>" << fixed(o.hd95, 2) << "</td>";
    }
    html << "</tr>\n";
  }
  html << "</table>\n";
  if (!figures.empty()) {
    html << "<h2>Worst cases and smallest missed lesions</h2>\n<p>Yellow: true positive; green: "
            "missed reference voxels; red: false-positive voxels.</p>\n";
    for (const OverlayFigure& f : figures) {
      html << "<figure><img alt=\"" << xmlEscape(f.title) << "\" src=\"data:image/png;base64,"
           << base64(f.png) << "\"><figcaption>" << xmlEscape(f.title) << "</figcaption></figure>\n";
    }
  }
  html << "</body></html>\n";
  return html.str();
}

namespace {

int64_t busiestSlice(const LabelVolume& v, int c) {
  const int64_t plane = v.geometry.size[0] * v.geometry.size[1];
  int64_t best = 0, bestCount = -1;
  for (int64_t z = 0; z < v.geometry.size[2]; ++z) {
    const int64_t n = std::count(v.data.begin() + z * plane, v.data.begin() + (z + 1) * plane, c);
    if (n > bestCount) best = z, bestCount = n;
  }
  return best;
}

}  // namespace

void writeHtmlReport(const EvalReport& report, const std::map<std::string, CaseSources>& sources,
                     const std::string& outputDir) {
  const std::filesystem::path outDir(outputDir);
  struct Pick {
    std::string caseId;
    int classIndex;
    int64_t z;  // -1: busiest slice of the reference
    std::string title;
  };
  std::vector<Pick> picks;
  std::vector<std::pair<double, size_t>> byDice;
  for (size_t i = 0; i < report.cases.size(); ++i) {
    std::vector<double> dice;
    for (const ClassOverlap& o : report.cases[i].overlap) dice.push_back(o.dice);
    const double mean = meanIgnoringNan(dice);
    if (std::isfinite(mean)) byDice.emplace_back(mean, i);
  }
  std::sort(byDice.begin(), byDice.end());
  for (size_t k = 0; k < std::min<size_t>(3, byDice.size()); ++k) {
    const CaseResult& cs = report.cases[byDice[k].second];
    const ClassOverlap* worst = nullptr;
    for (const ClassOverlap& o : cs.overlap) {
      if (std::isfinite(o.dice) && (!worst || o.dice < worst->dice)) worst = &o;
    }
    char title[160];
    std::snprintf(title, sizeof title, "worst #%zu: %s, %s, Dice %.3f", k + 1, cs.caseId.c_str(),
                  className(report, worst->classIndex).c_str(), worst->dice);
    picks.push_back({cs.caseId, worst->classIndex, -1, title});
  }
  std::vector<std::pair<const Lesion*, const CaseResult*>> missed;
  for (const CaseResult& cs : report.cases) {
    for (const Lesion& l : cs.lesions.lesions) {
      if (l.counted && !l.detected) missed.emplace_back(&l, &cs);
    }
  }
  std::sort(missed.begin(), missed.end(),
            [](const auto& a, const auto& b) { return a.first->voxels < b.first->voxels; });
  for (size_t k = 0; k < std::min<size_t>(4, missed.size()); ++k) {
    const Lesion& l = *missed[k].first;
    char title[160];
    std::snprintf(title, sizeof title, "missed: %s, %s, lesion %d (%lld voxels, %.1f mm^3)",
                  missed[k].second->caseId.c_str(), className(report, l.classIndex).c_str(), l.id,
                  static_cast<long long>(l.voxels), l.volumeMm3);
    picks.push_back({missed[k].second->caseId, l.classIndex, l.firstVoxel, title});
  }

  std::vector<OverlayFigure> figures;
  for (const Pick& p : picks) {
    const auto src = sources.find(p.caseId);
    if (src == sources.end()) continue;
    LabelVolume ref = readLabel(src->second.label);
    LabelVolume pred = readLabel(src->second.prediction);
    // What the class was scored on: ignored voxels left out, a region as its mask.
    const int value = scoredMaps(pred, ref, report, p.classIndex);
    Volume image;
    if (!src->second.image.empty()) image = readImage(src->second.image);
    const int64_t plane = ref.geometry.size[0] * ref.geometry.size[1];
    const int64_t z = p.z < 0 ? busiestSlice(ref, value) : p.z / plane;
    figures.push_back(renderOverlay(src->second.image.empty() ? nullptr : &image, ref, pred,
                                    value, z, p.title + ", slice z=" + std::to_string(z)));
  }
  writeFileAtomically((outDir / "report.html").string(), renderReportHtml(report, figures));
}

// --- Cross-validation section (segeval --cv).

std::string renderCrossValidationSection(const std::vector<CrossValidationFold>& folds, const EvalReport& pooled,
                                         const std::string& postprocessing) {
  std::ostringstream html;
  const char* unit = pooled.encoding.hasRegions() ? "region" : "class";
  html << "<h2>Cross-validation</h2>\n<p>" << folds.size() << " fold(s); each case predicted by the model "
       << "that did not train on it. Per " << unit << ": mean Dice, pooled lesion sensitivity and lesion F1.</p>\n"
       << "<table><tr><th>fold</th><th>cases</th>";
  for (int c = 1; c < pooled.numClasses; ++c) {
    const std::string name = xmlEscape(className(pooled, c));
    html << "<th>Dice " << name << "</th><th>sens. " << name << "</th><th>F1 " << name << "</th>";
  }
  html << "</tr>\n";
  const auto row = [&](const std::string& label, const EvalReport& r) {
    html << "<tr><th>" << xmlEscape(label) << "</th><td>" << r.cases.size() << "</td>";
    for (int c = 1; c < pooled.numClasses; ++c) {
      std::vector<double> dice;
      for (const CaseResult& cs : r.cases) dice.push_back(overlapOf(cs, c).dice);
      const LesionDetection d = pooledLesionDetection(r, c);
      html << "<td>" << fixed(meanIgnoringNan(dice), 4) << "</td><td>" << fixed(d.recall, 3) << "</td><td>"
           << fixed(d.f1, 3) << "</td>";
    }
    html << "</tr>\n";
  };
  for (const CrossValidationFold& f : folds) row("fold " + std::to_string(f.fold), f.report);
  row("all (pooled)", pooled);
  html << "</table>\n";
  if (!postprocessing.empty()) html << "<h3>Postprocessing</h3>\n" << postprocessing;
  return html.str();
}

void appendHtmlSection(const std::string& outputDir, const std::string& sectionHtml) {
  const std::string path = (std::filesystem::path(outputDir) / "report.html").string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read '" + path + "' to add a section");
  std::stringstream text;
  text << in.rdbuf();
  std::string page = text.str();
  const size_t end = page.rfind("</body>");
  if (end == std::string::npos) throw InputError("'" + path + "' has no </body>");
  page.insert(end, sectionHtml);
  writeFileAtomically(path, page);
}

// --- Ensemble members section (segeval --member-scores).

std::string renderEnsembleMembersSection(const std::vector<ModelScores>& models) {
  if (models.empty()) return "";
  const EvalReport& first = models.front().report;
  const char* unit = first.encoding.hasRegions() ? "region" : "class";
  std::ostringstream html;
  html << "<h2>Ensemble members</h2>\n<p>Each member alone and the ensemble (probabilities averaged tile by "
       << "tile) on the same " << first.cases.size() << " case(s). Per " << unit
       << ": mean Dice, pooled lesion sensitivity and lesion F1.</p>\n<table><tr><th>model</th><th>checkpoint</th>";
  for (int c = 1; c < first.numClasses; ++c) {
    const std::string name = xmlEscape(className(first, c));
    html << "<th>Dice " << name << "</th><th>sens. " << name << "</th><th>F1 " << name << "</th>";
  }
  html << "</tr>\n";
  for (const ModelScores& m : models) {
    html << "<tr><th>" << xmlEscape(m.model) << "</th><td>" << xmlEscape(m.checkpoint) << "</td>";
    for (int c = 1; c < first.numClasses; ++c) {
      const ModelClassSummary s = summarizeClass(m.report, c);
      html << "<td>" << fixed(s.meanDice, 4) << "</td><td>" << fixed(s.lesionSensitivity, 3) << "</td><td>"
           << fixed(s.lesionF1, 3) << "</td>";
    }
    html << "</tr>\n";
  }
  html << "</table>\n";
  return html.str();
}

}  // namespace seg
