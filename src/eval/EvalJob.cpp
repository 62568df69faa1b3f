#include "eval/EvalJob.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "config/ConfigLoader.h"
#include "core/Error.h"
#include "core/Log.h"
#include "data/CaseLoader.h"
#include "data/Dataset.h"
#include "data/NiftiIO.h"
#include "infer/SlidingWindow.h"
#include "train/Checkpoint.h"
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

// Prediction of one case in its input geometry (uint8 class map).
LabelVolume predictCase(Model& model, const LoadedCase& c, const SlidingWindowOptions& window) {
  const auto& g = c.image.geometry;
  if (c.image.channels != model.inChannels) {
    throw InputError("case '" + c.id + "' has " + std::to_string(c.image.channels) +
                     " channels but the model was trained on " + std::to_string(model.inChannels));
  }
  auto image = torch::from_blob(const_cast<float*>(c.image.data.data()),
                                {c.image.channels, g.size[2], g.size[1], g.size[0]}, torch::kFloat32);
  torch::NoGradGuard noGrad;
  const Network network = [&](const torch::Tensor& x) { return model.net->forward(x); };
  const auto logits = slidingWindowInference(image, network, window);
  torch::Tensor classes;
  if (model.config.loss.activation == "sigmoid" && model.numClasses == 1) {
    classes = (logits[0] > 0).to(torch::kUInt8);
  } else {
    classes = logits.argmax(0).to(torch::kUInt8);
  }
  classes = classes.contiguous();
  LabelVolume out;
  out.geometry = g;
  out.data.assign(classes.data_ptr<uint8_t>(), classes.data_ptr<uint8_t>() + classes.numel());
  return out;
}

std::map<std::string, std::string> labelFiles(const std::string& labels) {
  std::map<std::string, std::string> byId;
  if (labels.empty()) return byId;
  for (const auto& c : discoverCases(labels, /*stripChannel=*/false)) byId[c.id] = c.files.front();
  return byId;
}

}  // namespace

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
  const fs::path outDir(o.output);
  std::error_code ec;
  fs::create_directories(outDir, ec);
  if (ec) throw InputError("cannot create output directory '" + o.output + "': " + ec.message());

  if (modelMode) {
    const torch::Device device = resolveDevice(o.device);
    Model model = loadModel(o.checkpoint, device);
    report.numClasses = static_cast<int>(model.numClasses);
    SlidingWindowOptions window;
    const auto& p = model.config.data.patch_size;
    window.patchZYX = {p[2], p[1], p[0]};
    window.overlap = o.overlap >= 0 ? o.overlap : model.config.eval.overlap;
    window.tileBatch = o.tileBatch > 0 ? o.tileBatch : model.config.eval.tile_batch;
    window.mirror = o.mirror || model.config.eval.mirror_tta;
    window.device = device;
    const Normalization norm = parseNormalization(model.config.data.normalization);
    const fs::path predDir = outDir / "predictions";
    fs::create_directories(predDir);
    const auto cases = discoverCases(o.images, /*stripChannel=*/true);
    log->info("predicting {} cases (overlap {}, mirror TTA {})", cases.size(), window.overlap, window.mirror);
    for (const auto& files : cases) {
      CaseEntry entry{files.id, files.files, ""};
      const auto label = labels.find(files.id);
      if (label != labels.end()) entry.label = label->second;
      const LoadedCase c = loadCase(entry, norm, static_cast<int>(model.numClasses));
      LabelVolume pred = predictCase(model, c, window);
      writeLabel(pred, (predDir / (files.id + ".nii.gz")).string());
      if (!entry.label.empty()) {
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
    std::vector<std::pair<LabelVolume, LabelVolume>> volumes;
    int maxValue = 1;
    for (const auto& [predPath, refPath] : pairs) {
      LabelVolume pred = readLabel(predPath);
      LabelVolume ref = readLabel(refPath);
      for (uint8_t v : ref.data) maxValue = std::max<int>(maxValue, v);
      for (uint8_t v : pred.data) maxValue = std::max<int>(maxValue, v);
      volumes.emplace_back(std::move(pred), std::move(ref));
    }
    report.numClasses = maxValue + 1;
    for (size_t i = 0; i < volumes.size(); ++i) {
      if (!volumes[i].first.geometry.sameGrid(volumes[i].second.geometry)) {
        throw InputError("case '" + cases[i].id + "': prediction " + volumes[i].first.geometry.describeSize() +
                         " and label " + volumes[i].second.geometry.describeSize() + " differ in grid");
      }
      report.cases.push_back(evaluateCase(cases[i].id, volumes[i].first, volumes[i].second, report));
    }
  }
  if (!report.cases.empty()) writeEvalReport(report, o.output);
  return report;
}

}  // namespace seg
