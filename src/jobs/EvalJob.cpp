#include "jobs/EvalJob.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/GridDifference.h"
#include "core/Log.h"
#include "data/CaseLoader.h"
#include "data/CaseFiles.h"
#include "data/Dataset.h"
#include "data/DatasetLabels.h"
#include "data/NiftiIO.h"
#include "eval/HtmlReport.h"
#include "eval/MemberScores.h"
#include "eval/Postprocessing.h"
#include "eval/ReportFiles.h"
#include "eval/ReportFormat.h"
#include "jobs/DataSetup.h"
#include "jobs/Predictor.h"

namespace seg {

namespace fs = std::filesystem;

namespace {


std::map<std::string, std::string> labelFiles(const std::string& labels) {
  std::map<std::string, std::string> byId;
  if (labels.empty()) return byId;
  for (const auto& c : discoverCases(labels, /*stripChannel=*/false)) byId[c.id] = c.files.front();
  return byId;
}

void writeProbabilities(const Volume& probs, const fs::path& dir, const std::string& id, bool regions) {
  // Softmax channel 0 is the background; a sigmoid model's channels are all foreground;
  // with regions, <case>_region<r>.nii.gz for r = 1..R (the report's class column).
  const int64_t first = regions || probs.channels == 1 ? 0 : 1;
  const auto voxels = static_cast<size_t>(probs.geometry.numVoxels());
  for (int64_t k = first; k < probs.channels; ++k) {
    Volume v;
    v.geometry = probs.geometry;
    const auto begin = probs.data.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(k) * voxels);
    v.data.assign(begin, begin + static_cast<std::ptrdiff_t>(voxels));
    const std::string name = regions ? "_region" + std::to_string(k + 1) : "_class" + std::to_string(k);
    writeImage(v, (dir / (id + name + ".nii.gz")).string());
  }
}

// The encoding metrics-only mode scores with: dataset.json's, replaced by --regions and
// --ignore-label when given.
LabelEncoding metricsEncoding(const EvalJobOptions& o, const DatasetLabels& named) {
  LabelEncoding e;
  for (const LabelRegion& r : named.regions) {
    e.regions.push_back(r.labels);
    e.regionNames.push_back(r.name);
  }
  e.regionsClassOrder = named.regionsClassOrder;
  e.ignoreLabel = named.ignoreLabel;
  if (!o.regions.empty()) {
    const LabelEncoding given = parseRegionList(o.regions, "--regions");
    e.regions = given.regions;
    e.regionNames = given.regionNames;
    e.regionsClassOrder = given.regionsClassOrder;
  }
  if (o.ignoreLabel >= -1) e.ignoreLabel = o.ignoreLabel;
  e.check(!o.regions.empty() || o.ignoreLabel >= -1 ? std::string("--regions/--ignore-label") : named.path + ": labels");
  return e;
}

// metrics.json (written by writeEvalReport) plus "model": the checkpoints, whether they were
// an ensemble, and the postprocessing file applied (null = none).
void addModelInfo(const std::string& path, const nlohmann::json& info) {
  std::ifstream in(path);
  nlohmann::json metrics = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (metrics.is_discarded()) throw InternalError("cannot read back '" + path + "'");
  metrics["model"] = info;
  writeFileAtomically(path, metrics.dump(2) + "\n");
}

}  // namespace


LabelEncoding parseRegionList(const std::string& text, const std::string& where) {
  LabelEncoding e;
  std::stringstream entries(text);
  std::string entry;
  const std::string usage = " (expected 'name=v,v,...;name=v,...', e.g. 'whole tumor=1,2,3;tumor core=2,3;enhancing=3')";
  while (std::getline(entries, entry, ';')) {
    if (entry.find_first_not_of(' ') == std::string::npos) continue;
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) throw InputError(where + ": region '" + entry + "' has no name=" + usage);
    std::string name = entry.substr(0, eq);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    std::vector<int> values;
    std::stringstream list(entry.substr(eq + 1));
    std::string item;
    while (std::getline(list, item, ',')) {
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      const bool digits = !item.empty() && item.size() <= 3 &&
                          std::all_of(item.begin(), item.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
      if (!digits) throw InputError(where + ": region '" + name + "': '" + item + "' is not a label value" + usage);
      values.push_back(std::stoi(item));
    }
    if (values.empty()) throw InputError(where + ": region '" + name + "' has no label values" + usage);
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    e.regions.push_back(values);
    e.regionNames.push_back(name);
    // Painting only (metrics-only mode never paints): the region's smallest value, which is
    // nnU-Net's order for nested regions such as BraTS's.
    e.regionsClassOrder.push_back(values.front());
  }
  if (e.regions.empty()) throw InputError(where + ": no regions in '" + text + "'" + usage);
  e.check(where);
  return e;
}

EvalReport runEvalJob(const EvalJobOptions& o, std::vector<ModelScores>* members) {
  auto log = logger("eval");
  const std::vector<std::string> checkpoints =
      !o.checkpoints.empty() ? o.checkpoints
                             : (o.checkpoint.empty() ? std::vector<std::string>{} : std::vector<std::string>{o.checkpoint});
  const bool modelMode = !checkpoints.empty();
  if (modelMode == !o.predictions.empty()) {
    throw InputError("give either --checkpoint with --images (predict) or --predictions (metrics only)");
  }
  if (!modelMode && o.labels.empty()) throw InputError("--predictions needs --labels to score against");
  if (modelMode && o.images.empty()) throw InputError("--checkpoint needs --images");
  const auto labels = labelFiles(o.labels);

  EvalReport report;
  report.emptyRule = o.emptyRule;
  report.lesionOptions = o.lesions;
  report.surfaceDistances = o.surfaceDistances;
  const fs::path outDir(o.output);
  std::map<std::string, CaseSources> sources;
  // Before anything is written: a device that is not there, or a checkpoint that cannot be
  // read, is a usage error.
  std::unique_ptr<const Predictor> predictor;
  if (modelMode) {
    if (!o.regions.empty()) {
      throw InputError("--regions is for metrics-only mode: with --checkpoint the regions are the run's own");
    }
    PredictorOptions po;
    po.overlap = o.overlap;
    po.tileBatch = o.tileBatch;
    po.tileWorkers = o.tileWorkers;
    po.mirror = o.mirror;
    po.device = o.device;
    if (o.memberScores && o.labels.empty()) throw InputError("--member-scores needs --labels to score against");
    predictor = std::make_unique<const Predictor>(checkpoints, po);
  }
  if (!modelMode && (!o.postprocessing.empty() || o.memberScores)) {
    throw InputError(std::string(o.memberScores ? "--member-scores" : "--postprocessing") +
                     " is for model mode (--checkpoint)");
  }
  std::error_code ec;
  fs::create_directories(outDir, ec);
  if (ec) throw InputError("cannot create output directory '" + o.output + "': " + ec.message());

  nlohmann::json modelInfo;  // what metrics.json records about the model and postprocessing
  std::vector<ModelScores> memberReports;
  if (modelMode) {
    const Predictor& model = *predictor;
    report.encoding = model.encoding();
    // The test labels may mark unannotated voxels although training did not.
    if (o.ignoreLabel >= -1) report.encoding.ignoreLabel = o.ignoreLabel;
    report.encoding.check("--ignore-label");
    report.numClasses = report.encoding.hasRegions() ? static_cast<int>(report.encoding.regions.size()) + 1
                                                     : static_cast<int>(model.numClasses());
    if (report.encoding.hasRegions() || report.encoding.hasIgnore()) {
      log->info("label encoding of {}: {}", checkpoints.front(), describeEncoding(report.encoding));
    }
    if (model.size() > 1) {
      std::string list;
      for (const std::string& c : checkpoints) list += (list.empty() ? "" : ", ") + c;
      log->info("ensemble of {} members ({} probabilities averaged tile by tile): {}", model.size(),
                model.sigmoid() ? "sigmoid" : "softmax", list);
    }
    // Postprocessing: --postprocessing FILE, else a postprocessing.json of the run, unless turned off.
    std::string ppFile;
    Postprocessing pp;
    if (!o.noPostprocessing) ppFile = o.postprocessing.empty() ? findPostprocessingFile(checkpoints.front()) : o.postprocessing;
    if (!ppFile.empty()) {
      pp = readPostprocessing(ppFile);
      checkPostprocessing(pp, report.numClasses, model.encoding(), ppFile);
      std::string steps;
      for (const PostprocessingStep& step : pp.steps) steps += (steps.empty() ? "" : "; ") + describeStep(step, model.encoding());
      log->info("postprocessing from {} ({}-connected): {}", ppFile, pp.connectivity, steps.empty() ? "no steps" : steps);
    } else if (o.noPostprocessing) {
      log->info("postprocessing: off (--no-postprocessing)");
    }
    modelInfo["checkpoints"] = checkpoints;
    modelInfo["ensemble"] = model.size() > 1 ? nlohmann::json("mean of the members' probabilities, tile by tile")
                                             : nlohmann::json(nullptr);
    if (ppFile.empty()) {
      modelInfo["postprocessing"] = nullptr;
    } else {
      nlohmann::json steps = nlohmann::json::array();
      for (const PostprocessingStep& step : pp.steps) steps.push_back(describeStep(step, model.encoding()));
      modelInfo["postprocessing"] = {{"file", fs::absolute(ppFile).lexically_normal().string()}, {"steps", steps}};
    }
    auto postprocess = [&](LabelVolume& pred) {
      if (!ppFile.empty()) applyPostprocessing(pred, pp, model.encoding());
    };

    const bool scoreMembers = o.memberScores && model.size() > 1;
    if (o.memberScores && !scoreMembers) log->warn("--member-scores: one checkpoint, no members to compare");
    if (scoreMembers) {
      const std::vector<std::string> names = memberNames(checkpoints);
      for (size_t m = 0; m < model.size(); ++m) memberReports.push_back({names[m], checkpoints[m], report});
      std::string all;
      for (const std::string& c : checkpoints) all += (all.empty() ? "" : " ") + c;
      memberReports.push_back({"ensemble", all, report});
      // Member scores feed members.csv (Dice and lesion detection): no surface distances.
      for (ModelScores& r : memberReports) r.report.surfaceDistances = false;
    }

    const fs::path predDir = outDir / "predictions";
    fs::create_directories(predDir);
    const fs::path probDir = outDir / "probabilities";
    if (o.saveProbabilities) fs::create_directories(probDir);
    if (!o.labels.empty() && !report.encoding.hasRegions()) {
      const DatasetLabels named = findDatasetLabels(o.labels);
      if (named.numClasses == report.numClasses) report.classNames = named.names;
    }
    for (ModelScores& r : memberReports) r.report.classNames = report.classNames;
    const int labelBound = labelValueBound(report.encoding, static_cast<int>(model.numClasses()));
    const auto cases = discoverCases(o.images, /*stripChannel=*/true);
    log->info("predicting {} cases (overlap {}, mirror TTA {})", cases.size(), model.overlap(), model.mirror());
    for (const auto& files : cases) {
      CaseEntry entry{files.id, files.files, ""};
      const auto label = labels.find(files.id);
      if (label != labels.end()) entry.label = label->second;
      const LoadedCase c = loadCase(entry, model.preprocess(), labelBound, LabelGrid::Input);
      Volume probs;
      LabelVolume pred = model.predict(c, o.saveProbabilities ? &probs : nullptr);
      postprocess(pred);
      writeLabel(pred, (predDir / (files.id + ".nii.gz")).string());
      if (o.saveProbabilities) writeProbabilities(probs, probDir, files.id, report.encoding.hasRegions());
      if (!entry.label.empty()) {
        sources[files.id] = {files.files.front(), (predDir / (files.id + ".nii.gz")).string(), entry.label};
        report.cases.push_back(evaluateCase(files.id, pred, c.label, report));
        log->info("case {}: Dice {}", files.id,
                  report.cases.back().overlap.empty() ? std::nan("") : report.cases.back().overlap[0].dice);
        if (scoreMembers) {
          for (size_t m = 0; m < model.size(); ++m) {
            LabelVolume alone = model.predictMember(m, c);
            postprocess(alone);
            memberReports[m].report.cases.push_back(evaluateCase(files.id, alone, c.label, memberReports[m].report));
          }
          memberReports.back().report.cases.push_back(evaluateCase(files.id, pred, c.label, memberReports.back().report));
        }
      } else if (!labels.empty()) {
        log->warn("case {}: no label in {}, not scored", files.id, o.labels);
      }
    }
  } else {
    const auto cases = discoverCases(o.predictions, /*stripChannel=*/false);
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& c : cases) {
      const auto label = labels.find(c.id);
      if (label == labels.end()) throw InputError("prediction '" + c.files.front() + "': no label '" + c.id + "' in " + o.labels);
      pairs.emplace_back(c.files.front(), label->second);
    }
    // --num-classes, else dataset.json labels, else the largest label seen + 1. When the
    // count is known up front each case is scored as it is read; only the fallback
    // has to hold every case until all labels have been seen.
    const DatasetLabels named = findDatasetLabels(o.labels);
    report.encoding = metricsEncoding(o, named);
    if (report.encoding.hasRegions()) {
      if (o.numClasses > 0) throw InputError("--num-classes does not apply to regions (each region is one class)");
      report.numClasses = static_cast<int>(report.encoding.regions.size()) + 1;
    } else {
      report.numClasses = o.numClasses > 0 ? o.numClasses : named.numClasses;
    }
    if (report.encoding.hasRegions() || report.encoding.hasIgnore()) {
      log->info("label encoding ({}): {}", o.regions.empty() && o.ignoreLabel < -1 ? named.path : "command line",
                describeEncoding(report.encoding));
    }
    if (report.encoding.hasRegions()) log->info("{} regions", report.numClasses - 1);
    else if (o.numClasses > 0) log->info("{} classes (--num-classes)", report.numClasses);
    else if (named.numClasses > 0) log->info("{} classes from {}", report.numClasses, named.path);
    if (!report.encoding.hasRegions() && named.numClasses > 0 && named.numClasses == report.numClasses) {
      report.classNames = named.names;
    }
    auto score = [&](size_t i, const LabelVolume& pred, const LabelVolume& ref) {
      const std::string difference = describeGridDifference(pred.geometry, ref.geometry);
      if (!difference.empty()) {
        throw InputError("case '" + cases[i].id + "': prediction '" + pairs[i].first + "' and label '" +
                         pairs[i].second + "' differ in grid: " + difference + " (prediction vs label)");
      }
      sources[cases[i].id] = {"", pairs[i].first, pairs[i].second};
      report.cases.push_back(evaluateCase(cases[i].id, pred, ref, report));
    };
    std::vector<std::pair<LabelVolume, LabelVolume>> held;
    int maxValue = 1;
    for (size_t i = 0; i < pairs.size(); ++i) {
      LabelVolume pred = readLabel(pairs[i].first);
      LabelVolume ref = readLabel(pairs[i].second);
      if (report.numClasses > 0) {
        score(i, pred, ref);
        continue;
      }
      // The ignore label is no class.
      const int ignore = report.encoding.ignoreLabel;
      for (uint8_t v : ref.data)
        if (v != ignore) maxValue = std::max<int>(maxValue, v);
      for (uint8_t v : pred.data)
        if (v != ignore) maxValue = std::max<int>(maxValue, v);
      held.emplace_back(std::move(pred), std::move(ref));
    }
    if (report.numClasses <= 0) {
      report.numClasses = maxValue + 1;
      log->info("{} classes (largest label + 1; no dataset.json next to or above {})", report.numClasses, o.labels);
      for (size_t i = 0; i < held.size(); ++i) score(i, held[i].first, held[i].second);
    }
  }
  if (!report.cases.empty()) {
    writeEvalReport(report, o.output);
    if (modelMode) addModelInfo((outDir / "metrics.json").string(), modelInfo);
    if (!memberReports.empty() && !memberReports.back().report.cases.empty()) {
      writeMembersCsv(memberReports, (outDir / "members.csv").string());
    }
    if (o.htmlReport) {
      writeHtmlReport(report, sources, outDir.string());
      if (!memberReports.empty()) appendHtmlSection(outDir.string(), renderEnsembleMembersSection(memberReports));
    }
  }
  if (members) *members = std::move(memberReports);
  return report;
}

EvalReport runEvalJob(const EvalJobOptions& o) { return runEvalJob(o, nullptr); }

std::string findPostprocessingFile(const std::string& checkpoint) {
  const fs::path dir = fs::path(checkpoint).parent_path();
  for (const fs::path& candidate : {dir / "postprocessing.json", dir.parent_path() / "postprocessing.json"}) {
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  return "";
}

}  // namespace seg
