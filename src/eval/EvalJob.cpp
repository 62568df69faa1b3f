#include "eval/EvalJob.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "config/ConfigLoader.h"
#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/GridDifference.h"
#include "core/Log.h"
#include "data/CaseLoader.h"
#include "data/Dataset.h"
#include "data/NiftiIO.h"
#include "data/Resample.h"
#include "eval/HtmlReport.h"
#include "infer/SlidingWindow.h"
#include "train/Checkpoint.h"
#include "train/DataSetup.h"
#include "train/Factories.h"

namespace seg {

namespace fs = std::filesystem;

namespace {

bool isNifti(const fs::path& p) {
  const std::string name = p.filename().string();
  auto endsWith = [&](const std::string& s) {
    return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return endsWith(".nii") || endsWith(".nii.gz");
}

struct Model {
  UNet net{nullptr};
  TrainConfig config;
  int64_t numClasses = 2;
  int64_t inChannels = 1;
};

Model loadModel(const std::string& checkpoint, torch::Device device) {
  Model m;
  const CheckpointState state = readCheckpointState(checkpoint);
  m.config = parseTrainConfig(state.configYaml, checkpoint + " (stored config)");
  m.numClasses = state.numClasses;
  m.inChannels = state.inChannels;
  m.net = UNet(makeUNetOptions(m.config.model, m.inChannels, m.numClasses));
  loadCheckpoint(checkpoint, m.net, nullptr);
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
  const bool sigmoid = model.config.loss.activation == "sigmoid";
  const bool regrid = !g.sameGrid(c.inputGeometry, 1e-6);
  torch::Tensor probs;
  if (probabilities || regrid) probs = (sigmoid ? torch::sigmoid(logits) : torch::softmax(logits, 0)).contiguous();
  if (regrid) {
    Volume onGrid;
    onGrid.geometry = g;
    onGrid.channels = probs.size(0);
    onGrid.data.assign(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
    const Volume back = resampleImage(onGrid, c.inputGeometry);
    const auto& s = c.inputGeometry.size;
    probs = torch::from_blob(const_cast<float*>(back.data.data()), {back.channels, s[2], s[1], s[0]}, torch::kFloat32)
                .clone();
    // Decide on probabilities: logits of the two paths would not be comparable.
    logits = sigmoid ? torch::logit(probs.clamp(1e-7, 1 - 1e-7)) : probs;
  }
  torch::Tensor classes;
  if (sigmoid && model.numClasses == 1) {
    classes = (logits[0] > 0).to(torch::kUInt8);
  } else {
    classes = logits.argmax(0).to(torch::kUInt8);
  }
  if (probabilities) *probabilities = probs;
  classes = classes.contiguous();
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
                        const std::string& id) {
  // Softmax channel 0 is the background; a sigmoid model's channels are all foreground.
  const int64_t first = probs.size(0) > 1 ? 1 : 0;
  for (int64_t k = first; k < probs.size(0); ++k) {
    Volume v;
    v.geometry = g;
    const auto channel = probs[k].contiguous();
    v.data.assign(channel.data_ptr<float>(), channel.data_ptr<float>() + channel.numel());
    writeImage(v, (dir / (id + "_class" + std::to_string(k) + ".nii.gz")).string());
  }
}

// Where a scored case's files are, to draw report.html's overlays afterwards.
struct CaseSources {
  std::string image;  // empty in metrics-only mode
  std::string prediction;
  std::string label;
};

int64_t busiestSlice(const LabelVolume& v, int c) {
  const int64_t plane = v.geometry.size[0] * v.geometry.size[1];
  int64_t best = 0, bestCount = -1;
  for (int64_t z = 0; z < v.geometry.size[2]; ++z) {
    const int64_t n = std::count(v.data.begin() + z * plane, v.data.begin() + (z + 1) * plane, c);
    if (n > bestCount) best = z, bestCount = n;
  }
  return best;
}

// Overlays of the (up to) 3 cases with the lowest mean Dice, at the slice with the most
// reference voxels of their worst class, and of the (up to) 4 smallest missed lesions.
void writeHtmlReport(const EvalReport& report, const std::map<std::string, CaseSources>& sources,
                     const fs::path& outDir) {
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
    std::snprintf(title, sizeof title, "worst #%zu: %s, class %d, Dice %.3f", k + 1, cs.caseId.c_str(),
                  worst->classIndex, worst->dice);
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
    std::snprintf(title, sizeof title, "missed: %s, class %d, lesion %d (%lld voxels, %.1f mm^3)",
                  missed[k].second->caseId.c_str(), l.classIndex, l.id,
                  static_cast<long long>(l.voxels), l.volumeMm3);
    picks.push_back({missed[k].second->caseId, l.classIndex, l.firstVoxel, title});
  }

  std::vector<OverlayFigure> figures;
  for (const Pick& p : picks) {
    const auto src = sources.find(p.caseId);
    if (src == sources.end()) continue;
    const LabelVolume ref = readLabel(src->second.label);
    const LabelVolume pred = readLabel(src->second.prediction);
    Volume image;
    if (!src->second.image.empty()) image = readImage(src->second.image);
    const int64_t plane = ref.geometry.size[0] * ref.geometry.size[1];
    const int64_t z = p.z < 0 ? busiestSlice(ref, p.classIndex) : p.z / plane;
    figures.push_back(renderOverlay(src->second.image.empty() ? nullptr : &image, ref, pred,
                                    p.classIndex, z, p.title + ", slice z=" + std::to_string(z)));
  }
  writeFileAtomically((outDir / "report.html").string(), renderReportHtml(report, figures));
}

}  // namespace

DatasetLabels findDatasetLabels(const std::string& labelsPath) {
  DatasetLabels out;
  std::error_code ec;
  fs::path dir = fs::is_directory(labelsPath, ec) ? fs::path(labelsPath) : fs::path(labelsPath).parent_path();
  dir = fs::absolute(dir, ec).lexically_normal();
  if (!dir.empty() && dir.filename().empty()) dir = dir.parent_path();  // trailing slash
  for (const fs::path& candidate : {dir / "dataset.json", dir.parent_path() / "dataset.json"}) {
    if (!fs::is_regular_file(candidate, ec)) continue;
    nlohmann::json j;
    try {
      std::ifstream in(candidate);
      j = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      throw InputError(candidate.string() + ": not valid JSON: " + e.what());
    }
    if (!j.contains("labels") || !j["labels"].is_object()) {
      throw InputError(candidate.string() + ": no \"labels\" object");
    }
    std::map<int, std::string> names;
    for (const auto& [key, value] : j["labels"].items()) {
      // nnU-Net v2: "name": index (or a list of indices for regions); MSD: "index": "name".
      if (value.is_number_integer()) {
        names[value.get<int>()] = key;
      } else if (value.is_array()) {
        for (const auto& v : value) {
          if (v.is_number_integer()) names.emplace(v.get<int>(), key);
        }
      } else if (value.is_string()) {
        try {
          names[std::stoi(key)] = value.get<std::string>();
        } catch (const std::exception&) {
          throw InputError(candidate.string() + ": labels: key '" + key + "' is not a class index");
        }
      }
    }
    if (names.empty() || names.begin()->first < 0 || names.rbegin()->first > 255) {
      throw InputError(candidate.string() + ": labels must map to class indices 0..255");
    }
    out.numClasses = names.rbegin()->first + 1;
    out.names.assign(static_cast<size_t>(out.numClasses), "");
    for (const auto& [index, name] : names) out.names[static_cast<size_t>(index)] = name;
    out.path = candidate.string();
    return out;
  }
  return out;
}

std::vector<CaseFiles> discoverCases(const std::string& path, bool stripChannel) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    return {CaseFiles{caseIdFromFile(fs::path(path).filename().string(), stripChannel), {path}}};
  }
  if (!fs::is_directory(path, ec)) throw InputError("not found: " + path);
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (!entry.is_regular_file() || !isNifti(entry.path())) continue;
    const std::string name = entry.path().filename().string();
    if (name.front() == '.') continue;  // our own temporary files
    groups[caseIdFromFile(name, stripChannel)].push_back(entry.path().string());
  }
  if (groups.empty()) throw InputError("no NIfTI files (.nii, .nii.gz) in '" + path + "'");
  std::vector<CaseFiles> cases;
  for (auto& [id, files] : groups) {
    std::sort(files.begin(), files.end());  // _0000, _0001, ... in channel order
    cases.push_back({id, files});
  }
  return cases;
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
    Model model = loadModel(o.checkpoint, device);
    report.numClasses = static_cast<int>(model.numClasses);
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
    if (!o.labels.empty()) {
      const DatasetLabels named = findDatasetLabels(o.labels);
      if (named.numClasses == report.numClasses) report.classNames = named.names;
    }
    const auto cases = discoverCases(o.images, /*stripChannel=*/true);
    log->info("predicting {} cases (overlap {}, mirror TTA {})", cases.size(), window.overlap, window.mirror);
    for (const auto& files : cases) {
      CaseEntry entry{files.id, files.files, ""};
      const auto label = labels.find(files.id);
      if (label != labels.end()) entry.label = label->second;
      const LoadedCase c = loadCase(entry, preprocess, static_cast<int>(model.numClasses), LabelGrid::Input);
      torch::Tensor probs;
      LabelVolume pred = predictCase(model, c, window, o.saveProbabilities ? &probs : nullptr);
      writeLabel(pred, (predDir / (files.id + ".nii.gz")).string());
      if (o.saveProbabilities) writeProbabilities(probs, c.inputGeometry, probDir, files.id);
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
    report.numClasses = o.numClasses > 0 ? o.numClasses : named.numClasses;
    if (o.numClasses > 0) log->info("{} classes (--num-classes)", report.numClasses);
    else if (named.numClasses > 0) log->info("{} classes from {}", report.numClasses, named.path);
    if (named.numClasses > 0 && named.numClasses == report.numClasses) report.classNames = named.names;
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
      for (uint8_t v : ref.data) maxValue = std::max<int>(maxValue, v);
      for (uint8_t v : pred.data) maxValue = std::max<int>(maxValue, v);
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
    if (o.htmlReport) writeHtmlReport(report, sources, outDir);
  }
  return report;
}

}  // namespace seg
