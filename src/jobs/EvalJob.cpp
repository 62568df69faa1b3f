#include "jobs/EvalJob.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/ConfigLoader.h"
#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/GridDifference.h"
#include "core/Log.h"
#include "data/CaseLoader.h"
#include "data/CaseFiles.h"
#include "data/Dataset.h"
#include "data/DatasetLabels.h"
#include "data/NiftiIO.h"
#include "data/Resample.h"
#include "eval/HtmlReport.h"
#include "eval/ReportFiles.h"
#include "eval/ReportFormat.h"
#include "infer/PredictionLabels.h"
#include "infer/SlidingWindow.h"
#include "train/Checkpoint.h"
#include "jobs/DataSetup.h"
#include "jobs/Factories.h"

namespace seg {

namespace fs = std::filesystem;

namespace {


struct Model {
  UNet net{nullptr};
  TrainConfig config;
  int64_t numClasses = 2;  // output channels (one per region with regions)
  int64_t inChannels = 1;
  PredictionRule rule;     // the run's regions / ignore label and activation
};

// The label encoding of a run, from its resolved config (the training run wrote the
// regions and ignore label it used there, from dataset.json or the config itself).
LabelEncoding encodingOf(const DataConfig& data, const std::string& where) {
  LabelEncoding e;
  for (const RegionConfig& r : data.regions) {
    e.regions.emplace_back(r.labels.begin(), r.labels.end());
    e.regionNames.push_back(r.name);
  }
  e.regionsClassOrder.assign(data.regions_class_order.begin(), data.regions_class_order.end());
  e.ignoreLabel = static_cast<int>(data.ignore_label);
  e.check(where);
  return e;
}

// Label values a reference may hold under `e` for `numClasses` network classes: the
// classes (or every region value) and the ignore label. loadCase refuses larger ones.
int labelValueBound(const LabelEncoding& e, int numClasses) {
  int bound = e.hasRegions() ? 1 : numClasses;
  for (const auto& r : e.regions)
    for (int v : r) bound = std::max(bound, v + 1);
  for (int v : e.regionsClassOrder) bound = std::max(bound, v + 1);
  if (e.hasIgnore()) bound = std::max(bound, e.ignoreLabel + 1);
  return bound;
}

Model loadModel(const std::string& checkpoint, torch::Device device) {
  Model m;
  const CheckpointState state = readCheckpointState(checkpoint);
  m.config = parseTrainConfig(state.configYaml, checkpoint + " (stored config)");
  m.numClasses = state.numClasses;
  m.inChannels = state.inChannels;
  m.net = UNet(makeUNetOptions(m.config.model, m.inChannels, m.numClasses));
  loadCheckpoint(checkpoint, m.net, nullptr);
  const std::string where = checkpoint + " (stored config): data";
  m.rule.encoding = encodingOf(m.config.data, where);
  m.rule.sigmoid = m.config.loss.activation == "sigmoid" || m.rule.encoding.hasRegions();
  if (m.rule.encoding.hasRegions() && static_cast<size_t>(m.numClasses) != m.rule.encoding.regions.size()) {
    throw InputError(where + ".regions: " + std::to_string(m.rule.encoding.regions.size()) +
                     " regions but the network has " + std::to_string(m.numClasses) + " output channels");
  }
  m.net->to(device);
  m.net->eval();
  return m;
}

// Prediction of one case in its input geometry (uint8 class map); `probabilities`
// receives softmax (or sigmoid) maps (K, Z, Y, X) on the input grid when not null.
// When preprocessing changed the grid, the probabilities are resampled linearly back
// onto the input grid (physical space, so reorientation is undone too) and the classes
// taken there, as nnU-Net does with its resampled probabilities.
LabelVolume predictCase(Model& model, const LoadedCase& c, const SlidingWindowOptions& window,
                        torch::Tensor* probabilities) {
  const auto& g = c.image.geometry;
  if (c.image.channels != model.inChannels) {
    throw InputError("case '" + c.id + "' has " + std::to_string(c.image.channels) +
                     " channels but the model was trained on " + std::to_string(model.inChannels));
  }
  auto image = torch::from_blob(const_cast<float*>(c.image.data.data()),
                                {c.image.channels, g.size[2], g.size[1], g.size[0]}, torch::kFloat32);
  torch::NoGradGuard noGrad;
  const Network network = [&](const torch::Tensor& x) { return model.net->forward(x); };
  torch::Tensor logits = slidingWindowInference(image, network, window);
  const bool regrid = !g.sameGrid(c.inputGeometry, 1e-6);
  torch::Tensor probs;
  if (probabilities || regrid) probs = probabilitiesFromLogits(logits, model.rule);
  if (regrid) {
    Volume onGrid;
    onGrid.geometry = g;
    onGrid.channels = probs.size(0);
    onGrid.data.assign(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
    const Volume back = resampleImage(onGrid, c.inputGeometry);
    const auto& s = c.inputGeometry.size;
    probs = torch::from_blob(const_cast<float*>(back.data.data()), {back.channels, s[2], s[1], s[0]}, torch::kFloat32)
                .clone();
  }
  // Decide on probabilities after resampling (logits of the two paths would not be
  // comparable); sigmoid channels at 0.5, regions painted in regions_class_order.
  const torch::Tensor classes =
      regrid ? labelsFromScores(probs, model.rule, /*probabilities=*/true) : labelsFromScores(logits, model.rule, false);
  if (probabilities) *probabilities = probs;
  LabelVolume out;
  out.geometry = c.inputGeometry;
  out.data.assign(classes.data_ptr<uint8_t>(), classes.data_ptr<uint8_t>() + classes.numel());
  return out;
}

std::map<std::string, std::string> labelFiles(const std::string& labels) {
  std::map<std::string, std::string> byId;
  if (labels.empty()) return byId;
  for (const auto& c : discoverCases(labels, /*stripChannel=*/false)) byId[c.id] = c.files.front();
  return byId;
}

void writeProbabilities(const torch::Tensor& probs, const ImageGeometry& g, const fs::path& dir,
                        const std::string& id, bool regions) {
  // Softmax channel 0 is the background; a sigmoid model's channels are all foreground;
  // with regions, <case>_region<r>.nii.gz for r = 1..R (the report's class column).
  const int64_t first = regions || probs.size(0) == 1 ? 0 : 1;
  for (int64_t k = first; k < probs.size(0); ++k) {
    Volume v;
    v.geometry = g;
    const auto channel = probs[k].contiguous();
    v.data.assign(channel.data_ptr<float>(), channel.data_ptr<float>() + channel.numel());
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

EvalReport runEvalJob(const EvalJobOptions& o) {
  auto log = logger("eval");
  const bool modelMode = !o.checkpoint.empty();
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
  // Before anything is written: a device that is not there is a usage error.
  const torch::Device device = modelMode ? resolveDevice(o.device, "--device") : torch::Device(torch::kCPU);
  std::error_code ec;
  fs::create_directories(outDir, ec);
  if (ec) throw InputError("cannot create output directory '" + o.output + "': " + ec.message());

  if (modelMode) {
    if (!o.regions.empty()) {
      throw InputError("--regions is for metrics-only mode: with --checkpoint the regions are the run's own");
    }
    Model model = loadModel(o.checkpoint, device);
    report.encoding = model.rule.encoding;
    // The test labels may mark unannotated voxels although training did not.
    if (o.ignoreLabel >= -1) report.encoding.ignoreLabel = o.ignoreLabel;
    report.encoding.check("--ignore-label");
    report.numClasses = report.encoding.hasRegions() ? static_cast<int>(report.encoding.regions.size()) + 1
                                                     : static_cast<int>(model.numClasses);
    if (report.encoding.hasRegions() || report.encoding.hasIgnore()) {
      log->info("label encoding of {}: {}", o.checkpoint, describeEncoding(report.encoding));
    }
    SlidingWindowOptions window;
    const auto& p = model.config.data.patch_size;
    window.patchZYX = {p[2], p[1], p[0]};
    window.overlap = o.overlap >= 0 ? o.overlap : model.config.eval.overlap;
    window.tileBatch = o.tileBatch > 0 ? o.tileBatch : model.config.eval.tile_batch;
    window.workers = resolveTileWorkers(o.tileWorkers >= 0 ? o.tileWorkers : model.config.eval.tile_workers, device);
    window.mirror = o.mirror || model.config.eval.mirror_tta;
    window.device = device;
    const PreprocessOptions preprocess = preprocessOptions(model.config.data, o.checkpoint + " (stored config)");
    if (model.config.data.resample && model.config.data.target_spacing.empty()) {
      log->warn("{}: the stored config has no data.target_spacing: predicting at each input's own spacing",
                o.checkpoint);
    }
    const fs::path predDir = outDir / "predictions";
    fs::create_directories(predDir);
    const fs::path probDir = outDir / "probabilities";
    if (o.saveProbabilities) fs::create_directories(probDir);
    if (!o.labels.empty() && !report.encoding.hasRegions()) {
      const DatasetLabels named = findDatasetLabels(o.labels);
      if (named.numClasses == report.numClasses) report.classNames = named.names;
    }
    const int labelBound = labelValueBound(report.encoding, static_cast<int>(model.numClasses));
    const auto cases = discoverCases(o.images, /*stripChannel=*/true);
    log->info("predicting {} cases (overlap {}, mirror TTA {})", cases.size(), window.overlap, window.mirror);
    for (const auto& files : cases) {
      CaseEntry entry{files.id, files.files, ""};
      const auto label = labels.find(files.id);
      if (label != labels.end()) entry.label = label->second;
      const LoadedCase c = loadCase(entry, preprocess, labelBound, LabelGrid::Input);
      torch::Tensor probs;
      LabelVolume pred = predictCase(model, c, window, o.saveProbabilities ? &probs : nullptr);
      writeLabel(pred, (predDir / (files.id + ".nii.gz")).string());
      if (o.saveProbabilities) {
        writeProbabilities(probs, c.inputGeometry, probDir, files.id, model.rule.encoding.hasRegions());
      }
      if (!entry.label.empty()) {
        sources[files.id] = {files.files.front(), (predDir / (files.id + ".nii.gz")).string(), entry.label};
        report.cases.push_back(evaluateCase(files.id, pred, c.label, report));
        log->info("case {}: Dice {}", files.id,
                  report.cases.back().overlap.empty() ? std::nan("") : report.cases.back().overlap[0].dice);
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
    if (o.htmlReport) writeHtmlReport(report, sources, outDir.string());
  }
  return report;
}

}  // namespace seg
