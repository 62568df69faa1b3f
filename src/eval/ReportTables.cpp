// Console tables of segeval (Dice per case and class, lesions per size bin).
#include "eval/ReportTables.h"

#include <algorithm>
#include <sstream>

#include "eval/ReportFormat.h"

namespace seg {

std::string formatCaseTable(const EvalReport& report) {
  validateReport(report);
  size_t caseWidth = std::string("Dice").size();
  for (const CaseResult& cs : report.cases) caseWidth = std::max(caseWidth, cs.caseId.size());
  std::vector<size_t> widths;
  std::ostringstream out;
  out << pad("Dice", caseWidth, false);
  for (int c = 1; c < report.numClasses; ++c) {
    widths.push_back(std::max<size_t>(7, className(report, c).size()));
    out << "  " << pad(className(report, c), widths.back(), true);
  }
  out << '\n';
  std::vector<std::vector<double>> perClass(report.numClasses);
  for (const CaseResult& cs : report.cases) {
    out << pad(cs.caseId, caseWidth, false);
    for (int c = 1; c < report.numClasses; ++c) {
      perClass[c].push_back(overlapOf(cs, c).dice);
      out << "  " << pad(fixed(overlapOf(cs, c).dice, 4), widths[c - 1], true);
    }
    out << '\n';
  }
  out << pad("mean", caseWidth, false);
  for (int c = 1; c < report.numClasses; ++c) {
    out << "  " << pad(fixed(meanIgnoringNan(perClass[c]), 4), widths[c - 1], true);
  }
  out << '\n' << describeConventions(report) << '\n';
  return out.str();
}

std::string formatSizeBinTable(const EvalReport& report) {
  validateReport(report);
  const std::vector<SizeBinRow> rows = sizeBinRows(report);
  size_t classWidth = std::string("class").size();
  size_t binWidth = std::string("size (mm^3)").size();
  std::vector<std::string> ranges;
  for (const SizeBinRow& r : rows) {
    ranges.push_back(std::string("[").append(edge(r.lowMm3)).append(", ").append(edge(r.highMm3)).append(")"));
    binWidth = std::max(binWidth, ranges.back().size());
    classWidth = std::max(classWidth, className(report, r.classIndex, false).size());
  }
  std::ostringstream out;
  out << pad("class", classWidth, false) << "  " << pad("size (mm^3)", binWidth, false)
      << "  lesions  detected  sensitivity  mean Dice\n";
  for (size_t k = 0; k < rows.size(); ++k) {
    const SizeBinRow& r = rows[k];
    out << pad(className(report, r.classIndex, false), classWidth, false) << "  "
        << pad(ranges[k], binWidth, false) << "  " << pad(std::to_string(r.lesions), 7, true)
        << "  " << pad(std::to_string(r.detected), 8, true) << "  "
        << pad(fixed(r.sensitivity * 100.0, 1, "%"), 11, true) << "  "
        << pad(fixed(r.meanDice, 4), 9, true) << '\n';
  }
  int64_t unbinned = 0;
  for (const CaseResult& cs : report.cases) {
    for (const Lesion& l : cs.lesions.lesions) unbinned += l.bin < 0 && l.counted ? 1 : 0;
  }
  int64_t unscored = 0;
  for (const CaseResult& cs : report.cases) {
    for (const Lesion& l : cs.lesions.lesions) unscored += l.counted ? 0 : 1;
  }
  if (unbinned > 0) {
    out << unbinned << " lesion(s) below " << edge(report.lesionOptions.sizeBinsMm3.front())
        << " mm^3 are in no bin\n";
  }
  if (unscored > 0) {
    out << unscored << " lesion(s) <= " << edge(report.lesionOptions.minLesionVolumeMm3)
        << " mm^3 are not scored\n";
  }
  out << describeConventions(report) << '\n';
  return out.str();
}

}  // namespace seg
