#include "jobs/CrossValidation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/Log.h"
#include "core/TextEscape.h"
#include "data/CaseLoader.h"
#include "data/NiftiIO.h"
#include "eval/HtmlReport.h"
#include "eval/ReportFiles.h"
#include "eval/ReportFormat.h"
#include "jobs/DataSetup.h"

namespace seg {

namespace fs = std::filesystem;

namespace {

// Held in memory for the postprocessing passes up to this many voxels (prediction +
// reference, one byte each); above it each pass reads the files again.
constexpr int64_t kHoldVoxels = int64_t{512} * 1024 * 1024;

struct ScoredCase {
  std::string id;
  int fold = 0;
  std::string prediction;  // file
  std::string label;       // file
  std::string image;       // first channel file, for the report's overlays
};

// The cases of one fold in a report with the pooled report's settings.
EvalReport subset(const EvalReport& all, const std::vector<int>& caseFold, int fold) {
  EvalReport r = all;
  r.cases.clear();
  for (size_t i = 0; i < all.cases.size(); ++i)
    if (caseFold[i] == fold) r.cases.push_back(all.cases[i]);
  return r;
}

double meanDice(const EvalReport& r, int c) {
  std::vector<double> dice;
  for (const CaseResult& cs : r.cases) dice.push_back(overlapOf(cs, c).dice);
  return meanIgnoringNan(dice);
}

void writeFoldsCsv(const std::vector<CrossValidationFold>& folds, const std::vector<std::string>& checkpoints,
                   const EvalReport& pooled, const std::string& path) {
  std::ostringstream out;
  out << "fold,dir,checkpoint,cases";
  for (int c = 1; c < pooled.numClasses; ++c) {
    out << ",dice_" << c << ",lesion_sensitivity_" << c << ",lesion_f1_" << c;
  }
  out << '\n';
  for (size_t f = 0; f < folds.size(); ++f) {
    const EvalReport& r = folds[f].report;
    out << folds[f].fold << ',' << csvField(folds[f].dir) << ',' << csvField(checkpoints[f]) << ',' << r.cases.size();
    for (int c = 1; c < pooled.numClasses; ++c) {
      const LesionDetection d = pooledLesionDetection(r, c);
      out << ',' << csvNumber(meanDice(r, c)) << ',' << csvNumber(d.recall) << ',' << csvNumber(d.f1);
    }
    out << '\n';
  }
  writeFileAtomically(path, out.str());
}

std::string sameEncoding(const EvalReport& a, const EvalReport& b) {
  if (a.numClasses != b.numClasses) {
    return std::to_string(a.numClasses - 1) + " vs " + std::to_string(b.numClasses - 1) + " foreground classes";
  }
  if (a.encoding.regions != b.encoding.regions || a.encoding.regionsClassOrder != b.encoding.regionsClassOrder) {
    return "regions";
  }
  if (a.encoding.ignoreLabel != b.encoding.ignoreLabel) return "ignore label";
  return "";
}

std::string postprocessingRows(const Postprocessing& pp, const EvalReport& report) {
  std::ostringstream html;
  html << "<p>Chosen on the cross-validation predictions by " << xmlEscape(pp.criterion)
       << " (nnU-Net's rule: applied only when it improves).</p>\n"
       << "<table><tr><th>candidate</th><th>before</th><th>after</th><th>applied</th></tr>\n";
  for (const auto& c : pp.candidates) {
    const double before = c.step.target == 0 ? c.before.foreground : c.before.perClass[c.step.target - 1];
    const double after = c.step.target == 0 ? c.after.foreground : c.after.perClass[c.step.target - 1];
    html << "<tr><th>" << xmlEscape(describeStep(c.step, report.encoding)) << "</th><td>" << fixed(before, 4)
         << "</td><td>" << fixed(after, 4) << "</td><td>" << (c.applied ? "yes" : "no") << "</td></tr>\n";
  }
  html << "</table>\n";
  return html.str();
}

}  // namespace

std::vector<std::pair<int, std::string>> findFoldDirs(const std::string& run) {
  std::error_code ec;
  if (!fs::is_directory(run, ec)) throw InputError("--cv: '" + run + "' is not a folder");
  std::vector<std::pair<int, std::string>> folds;
  for (const auto& entry : fs::directory_iterator(run, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("fold_", 0) != 0 || name.size() == 5 || name.size() > 8) continue;
    if (!std::all_of(name.begin() + 5, name.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) continue;
    folds.emplace_back(std::stoi(name.substr(5)), entry.path().string());
  }
  if (ec) throw InputError("--cv: cannot list '" + run + "': " + ec.message());
  if (folds.empty()) {
    throw InputError("--cv: '" + run + "' has no fold_K folders (train them with segtrain --folds, or "
                     "--set data.fold=K --output " + run + "/fold_K)");
  }
  std::sort(folds.begin(), folds.end());
  return folds;
}

CrossValidationResult runCrossValidation(const CrossValidationOptions& o) {
  auto log = logger("eval");
  if (o.checkpoint != "final" && o.checkpoint != "best") {
    throw InputError("--cv-checkpoint: expected final or best, got '" + o.checkpoint + "'");
  }
  if (o.select != "dice" && o.select != "lesion") {
    throw InputError("--select: expected dice or lesion, got '" + o.select + "'");
  }
  validateLesionMatchOptions(o.lesions);
  const auto foldDirs = findFoldDirs(o.run);
  std::vector<std::string> checkpoints;
  for (const auto& [k, dir] : foldDirs) {
    const std::string file = (fs::path(dir) / ("checkpoint_" + o.checkpoint + ".pt")).string();
    if (!fs::is_regular_file(file)) {
      throw InputError("--cv: fold folder '" + dir + "' has no checkpoint_" + o.checkpoint +
                       ".pt (has that fold finished training?" +
                       (o.checkpoint == "final" ? " --cv-checkpoint best takes checkpoint_best.pt)" : ")"));
    }
    checkpoints.push_back(file);
  }

  const fs::path outDir(o.output);
  const fs::path predDir = outDir / "predictions";
  fs::create_directories(predDir);
  CrossValidationResult result;
  EvalReport& report = result.report;
  std::vector<ScoredCase> scored;
  std::map<std::string, int> foldOf;
  std::vector<PostprocessingCase> held;
  int64_t heldVoxels = 0;
  bool holding = true;

  for (size_t f = 0; f < foldDirs.size(); ++f) {
    const auto& [k, dir] = foldDirs[f];
    const Predictor predictor({checkpoints[f]}, o.predictor);
    const DataConfig& data = predictor.config().data;
    if (data.fold != k) {
      log->warn("{}: the stored config says data.fold {} (the folder name says {}): using the stored fold", dir,
                data.fold, k);
    }
    EvalReport settings;
    settings.emptyRule = o.emptyRule;
    settings.lesionOptions = o.lesions;
    settings.surfaceDistances = o.surfaceDistances;
    settings.encoding = predictor.encoding();
    settings.numClasses = settings.encoding.hasRegions() ? static_cast<int>(settings.encoding.regions.size()) + 1
                                                         : static_cast<int>(predictor.numClasses());
    const DatasetManifest manifest = loadManifest(data);
    if (!settings.encoding.hasRegions()) {
      std::vector<std::string> names(static_cast<size_t>(settings.numClasses));
      for (const auto& [index, name] : manifest.labels)
        if (index >= 0 && index < settings.numClasses) names[static_cast<size_t>(index)] = name;
      settings.classNames = names;
    }
    if (f == 0) {
      report = settings;
    } else if (const std::string diff = sameEncoding(report, settings); !diff.empty()) {
      throw InputError("--cv: " + checkpoints[f] + " differs from " + checkpoints[0] + " in " + diff);
    }
    const Split split = makeSplit(data, manifest);
    if (split.val.empty()) throw InputError("--cv: fold folder '" + dir + "': its fold has no validation cases");
    log->info("fold {}: {} validation cases ({})", data.fold, split.val.size(), checkpoints[f]);
    result.folds.push_back(data.fold);
    for (const CaseEntry& entry : split.val) {
      const auto seen = foldOf.find(entry.id);
      if (seen != foldOf.end()) {
        throw InputError("--cv: case '" + entry.id + "' is a validation case of fold " + std::to_string(seen->second) +
                         " and of fold " + std::to_string(data.fold) + " (" + dir +
                         "): the folds must come from one split");
      }
      foldOf[entry.id] = data.fold;
      if (entry.label.empty()) throw InputError("--cv: training case '" + entry.id + "' has no label");
      const LoadedCase c = loadCase(entry, predictor.preprocess(), predictor.labelBound(), LabelGrid::Input);
      LabelVolume pred = predictor.predict(c);
      const std::string predFile = (predDir / (entry.id + ".nii.gz")).string();
      writeLabel(pred, predFile);
      report.cases.push_back(evaluateCase(entry.id, pred, c.label, report));
      result.caseFold.push_back(data.fold);
      scored.push_back({entry.id, data.fold, predFile, entry.label, entry.images.empty() ? "" : entry.images.front()});
      log->info("fold {} case {}: Dice {}", data.fold, entry.id,
                report.cases.back().overlap.empty() ? std::nan("") : report.cases.back().overlap[0].dice);
      heldVoxels += 2 * pred.geometry.numVoxels();
      holding = holding && heldVoxels <= kHoldVoxels;
      if (holding) {
        held.push_back({entry.id, std::move(pred), c.label});
      } else {
        held.clear();
      }
    }
  }

  std::vector<CrossValidationFold> folds;
  for (size_t f = 0; f < foldDirs.size(); ++f) {
    folds.push_back({result.folds[f], foldDirs[f].second, subset(report, result.caseFold, result.folds[f])});
  }
  std::map<std::string, CaseSources> sources;
  for (const ScoredCase& s : scored) sources[s.id] = {s.image, s.prediction, s.label};
  writeEvalReport(report, o.output);
  writeFoldsCsv(folds, checkpoints, report, (outDir / "folds.csv").string());

  std::string ppHtml;
  if (o.postprocessing) {
    PostprocessingSearch search;
    search.criterion = o.select == "lesion" ? "lesion_f1" : "dice";
    search.connectivity = o.lesions.connectivity;
    search.threads = o.threads;
    if (!o.ppMinSizesMm3.empty()) {
      search.minSizesMm3 = o.ppMinSizesMm3;
    } else {
      search.minSizesMm3.clear();
      for (double edge : o.lesions.sizeBinsMm3)
        if (edge > 0.0) search.minSizesMm3.push_back(edge);
    }
    const PostprocessingCaseLoader load = [&](size_t i) {
      if (holding) return held[i];
      // On the input grid the reference is the label file as read (data/CaseLoader.cpp).
      return PostprocessingCase{scored[i].id, readLabel(scored[i].prediction), readLabel(scored[i].label)};
    };
    log->info("choosing postprocessing on {} cases by {}", scored.size(), search.criterion);
    result.postprocessing = determinePostprocessing(scored.size(), load, report, search);
    writePostprocessing(result.postprocessing, (fs::path(o.run) / "postprocessing.json").string());
    writePostprocessing(result.postprocessing, (outDir / "postprocessing.json").string());

    const fs::path ppDir = outDir / "postprocessed";
    const fs::path ppPred = ppDir / "predictions";
    fs::create_directories(ppPred);
    EvalReport& after = result.postprocessedReport;
    after = report;
    after.cases.clear();
    std::map<std::string, CaseSources> ppSources;
    for (size_t i = 0; i < scored.size(); ++i) {
      PostprocessingCase c = load(i);
      applyPostprocessing(c.prediction, result.postprocessing, report.encoding);
      const std::string file = (ppPred / (c.id + ".nii.gz")).string();
      writeLabel(c.prediction, file);
      after.cases.push_back(evaluateCase(c.id, c.prediction, c.reference, after));
      ppSources[c.id] = {scored[i].image, file, scored[i].label};
    }
    writeEvalReport(after, ppDir.string());
    if (o.htmlReport) writeHtmlReport(after, ppSources, ppDir.string());
    result.postprocessed = true;
    ppHtml = postprocessingRows(result.postprocessing, report);
  }
  if (o.htmlReport) {
    writeHtmlReport(report, sources, o.output);
    appendHtmlSection(o.output, renderCrossValidationSection(folds, report, ppHtml));
  }
  return result;
}

}  // namespace seg
