#include "eval/MemberScores.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/AtomicFile.h"
#include "eval/ReportFormat.h"

namespace seg {

ModelClassSummary summarizeClass(const EvalReport& report, int c) {
  std::vector<double> dice;
  for (const CaseResult& cs : report.cases) dice.push_back(overlapOf(cs, c).dice);
  const LesionDetection d = pooledLesionDetection(report, c);
  return {meanIgnoringNan(dice), d.recall, d.f1};
}

std::vector<std::string> memberNames(const std::vector<std::string>& checkpoints) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const std::string& c : checkpoints) {
    std::string parent = std::filesystem::path(c).parent_path().filename().string();
    if (parent.empty() || !seen.insert(parent).second) {
      names.clear();
      break;
    }
    names.push_back(parent);
  }
  if (names.size() == checkpoints.size()) return names;
  names.clear();
  for (size_t m = 0; m < checkpoints.size(); ++m) names.push_back("member " + std::to_string(m + 1));
  return names;
}

void writeMembersCsv(const std::vector<ModelScores>& models, const std::string& path) {
  std::ostringstream out;
  out << "model,checkpoint,class,cases,mean_dice,lesion_sensitivity,lesion_f1\n";
  for (const ModelScores& m : models) {
    validateReport(m.report);
    for (int c = 1; c < m.report.numClasses; ++c) {
      const ModelClassSummary s = summarizeClass(m.report, c);
      out << csvField(m.model) << ',' << csvField(m.checkpoint) << ',' << csvField(className(m.report, c, false))
          << ',' << m.report.cases.size() << ',' << csvNumber(s.meanDice) << ',' << csvNumber(s.lesionSensitivity)
          << ',' << csvNumber(s.lesionF1) << '\n';
    }
  }
  writeFileAtomically(path, out.str());
}

std::string formatMemberTable(const std::vector<ModelScores>& models) {
  if (models.empty()) return "";
  const EvalReport& first = models.front().report;
  size_t modelWidth = std::string("model").size();
  for (const ModelScores& m : models) modelWidth = std::max(modelWidth, m.model.size());
  std::vector<std::string> headers;
  for (int c = 1; c < first.numClasses; ++c) headers.push_back("Dice " + className(first, c, false));
  for (int c = 1; c < first.numClasses; ++c) headers.push_back("lesion F1 " + className(first, c, false));
  std::ostringstream out;
  out << pad("model", modelWidth, false);
  std::vector<size_t> widths;
  for (const std::string& h : headers) {
    widths.push_back(std::max<size_t>(7, h.size()));
    out << "  " << pad(h, widths.back(), true);
  }
  out << '\n';
  for (const ModelScores& m : models) {
    std::vector<ModelClassSummary> s;
    for (int c = 1; c < m.report.numClasses; ++c) s.push_back(summarizeClass(m.report, c));
    out << pad(m.model, modelWidth, false);
    size_t k = 0;
    for (const auto& v : s) out << "  " << pad(fixed(v.meanDice, 4), widths[k++], true);
    for (const auto& v : s) out << "  " << pad(fixed(v.lesionF1, 4), widths[k++], true);
    out << '\n';
  }
  out << "mean case Dice ignoring NaN; lesion F1 pooled over the cases; " << describeConventions(first) << '\n';
  return out.str();
}

}  // namespace seg
