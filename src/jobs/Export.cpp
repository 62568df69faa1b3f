#include "jobs/Export.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include "config/ConfigLoader.h"
#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/Log.h"
#include "core/Version.h"
#include "data/DatasetLabels.h"
#include "jobs/Factories.h"
#include "models/TorchScriptExport.h"
#include "train/Checkpoint.h"

namespace seg {

namespace {

// A string -> tensor dict in the zip format of Python's torch.save, as torch::pickle_save
// writes it, but pickled as a plain dict: pickle_save tags it with its element types
// (torch.jit._pickle.restore_type_tag), a global that torch.load refuses by default since
// torch 2.6 (weights_only=True). Untagged, torch.load reads it with its defaults.
std::string torchLoadableDict(const c10::Dict<std::string, torch::Tensor>& dict) {
  std::vector<char> pickled;
  torch::jit::Pickler pickler([&](const char* data, size_t size) { pickled.insert(pickled.end(), data, data + size); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
                              /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(c10::IValue(dict));
  pickler.stop();
  std::string bytes;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  torch::jit::writeArchiveAndTensors("data", pickled.data(), pickled.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return bytes;
}

struct LoadedRun {
  CheckpointState state;
  TrainConfig config;
};

LoadedRun readRun(const std::string& checkpointPath) {
  LoadedRun run;
  run.state = readCheckpointState(checkpointPath);
  run.config = parseTrainConfig(run.state.configYaml, checkpointPath + " (stored config)");
  return run;
}

UNet loadNetwork(const std::string& checkpointPath, const LoadedRun& run, bool fusedInference) {
  UNet model(makeUNetOptions(run.config.model, run.state.inChannels, run.state.numClasses)
                 .fused_inference(fusedInference));
  loadCheckpoint(checkpointPath, model, nullptr);
  model->eval();
  return model;
}

std::array<int64_t, 3> reversed(const std::array<int64_t, 3>& xyz) { return {xyz[2], xyz[1], xyz[0]}; }

// Class names by index: data.labels (a case list), else the dataset.json of data.root when it
// is still there; empty when neither is known.
std::vector<std::string> classNames(const DataConfig& data, const std::string& checkpointPath) {
  if (!data.labels.empty()) return data.labels;
  if (data.root.empty()) return {};
  try {
    return findDatasetLabels(data.root).names;
  } catch (const InputError& e) {
    logger("train")->warn("{}: no class names in the export metadata ({})", checkpointPath, e.what());
    return {};
  }
}

nlohmann::ordered_json metadataOf(const std::string& checkpointPath, const LoadedRun& run, const UNetImpl& net) {
  const TrainConfig& c = run.config;
  const DataConfig& d = c.data;
  using Json = nlohmann::ordered_json;
  Json j;
  j["format"] = "segtrain-torchscript";
  j["format_version"] = 1;
  j["segtrain_version"] = versionString();
  j["checkpoint"] = {{"file", checkpointPath}, {"epoch", run.state.epoch}, {"iteration", run.state.iteration}};
  const auto divisors = net.sizeDivisors();
  j["input"] = {{"layout", "BCZYX"},
                {"dtype", "float32"},
                {"in_channels", run.state.inChannels},
                {"patch_size_xyz", d.patch_size},
                {"patch_size_zyx", reversed(d.patch_size)},
                {"size_divisors_zyx", divisors}};
  const bool regions = !d.regions.empty();
  Json out;
  out["channels"] = run.state.numClasses;
  out["activation"] = regions || c.loss.activation == "sigmoid" ? "sigmoid" : "softmax";
  out["class_names"] = classNames(d, checkpointPath);
  Json list = Json::array();
  for (const RegionConfig& r : d.regions) list.push_back({{"name", r.name}, {"labels", r.labels}});
  out["regions"] = list;
  out["regions_class_order"] = d.regions_class_order;
  out["ignore_label"] = d.ignore_label;
  j["output"] = out;
  Json pre;
  pre["reorient_to_identity_direction"] = d.reorient;
  pre["target_spacing_xyz"] = d.resample ? d.target_spacing : std::vector<double>{};
  pre["normalization"] = d.normalization;
  pre["nonzero_mask"] = d.nonzero_mask;
  if (d.normalization == "ct") {
    pre["ct_stats"] = {{"clip_low", d.ct_stats.clip_low},
                       {"clip_high", d.ct_stats.clip_high},
                       {"mean", d.ct_stats.mean},
                       {"std", d.ct_stats.std}};
  }
  j["preprocessing"] = pre;
  j["inference"] = {{"overlap", c.eval.overlap}, {"gaussian_sigma_scale", 0.125}, {"mirror_tta", c.eval.mirror_tta}};
  j["model"] = {{"name", c.model.name},
                {"features", c.model.features},
                {"deep_supervision", c.model.deep_supervision}};
  return j;
}

}  // namespace

void exportWeights(const std::string& checkpointPath, const std::string& outputPath) {
  const LoadedRun run = readRun(checkpointPath);
  UNet model = loadNetwork(checkpointPath, run, /*fusedInference=*/true);
  c10::Dict<std::string, torch::Tensor> weights;
  for (const auto& item : model->named_parameters()) weights.insert(item.key(), item.value().detach().clone());
  for (const auto& item : model->named_buffers()) weights.insert(item.key(), item.value().detach().clone());
  writeFileAtomically(outputPath, torchLoadableDict(weights));
}

std::string torchScriptMetadata(const std::string& checkpointPath) {
  const LoadedRun run = readRun(checkpointPath);
  UNet model(makeUNetOptions(run.config.model, run.state.inChannels, run.state.numClasses));
  return metadataOf(checkpointPath, run, *model).dump(2);
}

void exportTorchScript(const std::string& checkpointPath, const std::string& outputPath,
                       const TorchScriptExportOptions& options) {
  const LoadedRun run = readRun(checkpointPath);
  UNet traced = loadNetwork(checkpointPath, run, /*fusedInference=*/false);
  const std::string metadata = metadataOf(checkpointPath, run, *traced).dump(2);
  const std::array<int64_t, 3> patch = reversed(run.config.data.patch_size);
  const auto divisors = traced->sizeDivisors();
  for (int a = 0; a < 3; ++a) {
    if (patch[a] % divisors[a] != 0) {
      throw InputError(checkpointPath + " (stored config): data.patch_size [" + std::to_string(patch[2]) + ", " +
                       std::to_string(patch[1]) + ", " + std::to_string(patch[0]) +
                       "] is not divisible by the network's strides");
    }
  }
  const std::string archive = torchScriptArchive(*traced, patch, metadata);

  std::string checkIo;
  if (!options.checkIoPath.empty()) {
    UNet net = loadNetwork(checkpointPath, run, /*fusedInference=*/true);
    torch::NoGradGuard noGrad;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(options.checkIoSeed);
    const torch::Tensor input =
        torch::randn({1, run.state.inChannels, patch[0], patch[1], patch[2]}, generator, torch::TensorOptions());
    c10::Dict<std::string, torch::Tensor> io;
    io.insert("input", input);
    io.insert("logits", net->forward(input).contiguous());
    checkIo = torchLoadableDict(io);
  }
  // Both files or neither (when the second write fails, the first is already complete).
  writeFileAtomically(outputPath, archive);
  if (!options.checkIoPath.empty()) writeFileAtomically(options.checkIoPath, checkIo);
}

}  // namespace seg
