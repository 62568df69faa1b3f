#include "eval/ReportFormat.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace seg {

// Shortest text that reads back to the same double, so CSVs lose nothing and stay short.
std::string csvNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

// RFC 4180: quote a field holding a separator, quote or line break; double inner quotes.
std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string fixed(double v, int decimals, const char* suffix) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals, v, suffix);
  return buf;
}

std::string edge(double v) {
  if (std::isinf(v)) return "inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string pad(const std::string& s, size_t width, bool right) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

std::string className(const EvalReport& report, int c, bool withPrefix) {
  const LabelEncoding& enc = report.encoding;
  if (enc.hasRegions()) {
    if (c >= 1 && c <= static_cast<int>(enc.regionNames.size()) && !enc.regionNames[c - 1].empty()) {
      return enc.regionNames[c - 1];
    }
    return (withPrefix ? "region " : "") + std::to_string(c);
  }
  if (c < static_cast<int>(report.classNames.size()) && !report.classNames[c].empty()) {
    return report.classNames[c];
  }
  return (withPrefix ? "class " : "") + std::to_string(c);
}

std::string sizeBinLabel(const std::vector<double>& bins, int bin) {
  if (bin < 0) return std::string("<").append(edge(bins.front()));
  const double high = bin + 1 < static_cast<int>(bins.size()) ? bins[bin + 1]
                                                              : std::numeric_limits<double>::infinity();
  return edge(bins[bin]) + "-" + edge(high);
}

std::string describeEncoding(const LabelEncoding& encoding) {
  std::string text;
  if (encoding.hasRegions()) {
    text = "regions:";
    for (size_t r = 0; r < encoding.regions.size(); ++r) {
      const std::string name = r < encoding.regionNames.size() && !encoding.regionNames[r].empty()
                                   ? encoding.regionNames[r]
                                   : "region " + std::to_string(r + 1);
      text += (r ? ", " : " ") + name + " [";
      for (size_t k = 0; k < encoding.regions[r].size(); ++k) {
        text += (k ? "," : "") + std::to_string(encoding.regions[r][k]);
      }
      text += "]";
    }
  }
  if (encoding.hasIgnore()) text += (text.empty() ? "" : "; ") + std::string("ignore label ") + std::to_string(encoding.ignoreLabel);
  return text.empty() ? "classes" : text;
}

std::string describeConventions(const EvalReport& report) {
  const LesionMatchOptions& o = report.lesionOptions;
  std::string text = "empty-reference rule: " + toString(report.emptyRule) + "; lesions: " +
                     std::to_string(o.connectivity) + "-connected components, detected on " +
                     (o.match == MatchRule::Iou ? "IoU >= " + csvNumber(o.iouThreshold) : "any overlap");
  if (o.referenceDilation > 0) {
    text += " with the reference dilated " + std::to_string(o.referenceDilation) + "x";
  }
  if (o.minLesionVolumeMm3 > 0) text += "; lesions <= " + edge(o.minLesionVolumeMm3) + " mm^3 not scored";
  if (!o.preset.empty()) text += "; preset " + o.preset;
  if (report.encoding.hasRegions() || report.encoding.hasIgnore()) text += "; " + describeEncoding(report.encoding);
  return text;
}

}  // namespace seg
