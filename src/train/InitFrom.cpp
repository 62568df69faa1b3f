#include "train/InitFrom.h"

#include <torch/csrc/jit/serialization/import.h>
#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/Error.h"
#include "train/Checkpoint.h"

namespace seg {

namespace {

std::string shapeText(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << (shape.size() == 1 ? ",)" : ")");
  return s.str();
}

bool startsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Same rank, equal in every dimension except `dim`.
bool differOnlyIn(const std::vector<int64_t>& a, const std::vector<int64_t>& b, size_t dim) {
  if (a.size() != b.size() || a.size() <= dim) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (i != dim && a[i] != b[i]) return false;
  return true;
}

NamedTensors tensorsOf(torch::nn::Module& model) {
  NamedTensors out;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  for (const auto& item : model.named_buffers(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace

const char* initActionName(InitAction action) {
  switch (action) {
    case InitAction::Loaded: return "loaded";
    case InitAction::Adapted: return "adapted";
    case InitAction::Reinitialised: return "reinitialised";
    case InitAction::Skipped: return "skipped";
  }
  return "?";
}

torch::Tensor adaptInputConv(const torch::Tensor& weight, int64_t inChannels) {
  TORCH_CHECK(weight.dim() >= 3 && inChannels >= 1, "adaptInputConv: expected a (O, C, k...) weight and C_new >= 1");
  const int64_t old = weight.size(1);
  const auto w = weight.to(torch::kFloat32);  // timm adapts in float32
  torch::Tensor adapted;
  if (inChannels == 1) {
    adapted = w.sum(1, /*keepdim=*/true);
  } else {
    const auto index = torch::arange(inChannels, torch::TensorOptions().dtype(torch::kLong).device(w.device())) % old;
    adapted = w.index_select(1, index) * (static_cast<double>(old) / static_cast<double>(inChannels));
  }
  return adapted.to(weight.scalar_type());
}

InitFromReport initFrom(torch::nn::Module& model, const NamedTensors& source, const InitFromOptions& options) {
  const NamedTensors target = tensorsOf(model);
  std::map<std::string, const torch::Tensor*> fromSource;
  for (const auto& [name, t] : source) fromSource[name] = &t;
  std::string inputConv = options.inputConv;
  if (inputConv.empty()) {
    for (const auto& item : model.named_parameters(/*recurse=*/true)) {
      if (startsWith(item.key(), options.encoderPrefix) && item.value().dim() >= 3) {
        inputConv = item.key();
        break;
      }
    }
  }
  auto isHead = [&](const std::string& name) {
    for (const auto& p : options.headPrefixes)
      if (startsWith(name, p)) return true;
    return false;
  };

  InitFromReport report;
  report.source = options.source;
  std::vector<std::string> problems;
  std::map<std::string, bool> seen;
  for (const auto& [name, t] : target) {
    InitFromEntry e;
    e.name = name;
    e.modelShape = t.sizes().vec();
    const auto found = fromSource.find(name);
    if (found == fromSource.end()) {
      if (isHead(name)) {
        e.action = InitAction::Reinitialised;
      } else {
        problems.push_back(name + ": missing in the checkpoint (model " + shapeText(e.modelShape) + ")");
      }
      report.entries.push_back(e);
      continue;
    }
    seen[name] = true;
    e.sourceShape = found->second->sizes().vec();
    if (e.sourceShape == e.modelShape) {
      e.action = InitAction::Loaded;
    } else if (name == inputConv && differOnlyIn(e.sourceShape, e.modelShape, 1)) {
      e.action = InitAction::Adapted;
      report.inChannelsFrom = e.sourceShape[1];
      report.inChannelsTo = e.modelShape[1];
    } else if (isHead(name) && differOnlyIn(e.sourceShape, e.modelShape, 0)) {
      e.action = InitAction::Reinitialised;
      report.classesFrom = e.sourceShape[0];
      report.classesTo = e.modelShape[0];
    } else {
      problems.push_back(name + ": " + shapeText(e.sourceShape) + " in the checkpoint, " + shapeText(e.modelShape) +
                         " in the model");
    }
    report.entries.push_back(e);
  }
  for (const auto& [name, t] : source) {
    if (seen.count(name)) continue;
    if (isHead(name)) {
      InitFromEntry e;
      e.name = name;
      e.action = InitAction::Skipped;
      e.sourceShape = t.sizes().vec();
      report.entries.push_back(e);
    } else {
      problems.push_back(name + ": in the checkpoint " + shapeText(t.sizes().vec()) + " but not in the model");
    }
  }
  if (!problems.empty()) {
    std::string message = "checkpoint '" + options.source + "' does not fit the configured model (" +
                          std::to_string(problems.size()) + " tensor(s) differ; only the segmentation heads (class "
                          "count) and the first convolution (input channels) may differ):";
    for (size_t i = 0; i < problems.size() && i < options.listed; ++i) message += "\n  " + problems[i];
    if (problems.size() > options.listed) {
      message += "\n  ... and " + std::to_string(problems.size() - options.listed) + " more";
    }
    throw InputError(message);
  }

  torch::NoGradGuard noGrad;
  for (size_t i = 0; i < target.size(); ++i) {
    const InitFromEntry& e = report.entries[i];
    torch::Tensor t = target[i].second;
    switch (e.action) {
      case InitAction::Loaded:
        t.copy_(*fromSource.at(e.name));
        ++report.loaded;
        break;
      case InitAction::Adapted:
        t.copy_(adaptInputConv(*fromSource.at(e.name), e.modelShape[1]));
        ++report.adapted;
        break;
      case InitAction::Reinitialised:
        ++report.reinitialised;  // keeps the fresh model's own initialisation
        break;
      case InitAction::Skipped:
        break;
    }
  }
  report.skipped = static_cast<int64_t>(report.entries.size() - target.size());
  return report;
}

std::string InitFromReport::summary() const {
  std::string s = "loaded " + std::to_string(loaded) + " tensors";
  s += ", adapted " + std::to_string(adapted);
  if (adapted > 0) s += " (in channels " + std::to_string(inChannelsFrom) + " -> " + std::to_string(inChannelsTo) + ")";
  s += ", re-initialised " + std::to_string(reinitialised);
  if (reinitialised > 0) {
    s += classesFrom > 0 ? " (classes " + std::to_string(classesFrom) + " -> " + std::to_string(classesTo) + ")"
                         : std::string(" (heads absent from the checkpoint)");
  }
  if (skipped > 0) s += ", skipped " + std::to_string(skipped) + " checkpoint head tensor(s) the model lacks";
  return s;
}

std::string InitFromReport::toJson() const {
  nlohmann::ordered_json j;
  j["source"] = source;
  j["loaded"] = loaded;
  j["adapted"] = adapted;
  j["reinitialised"] = reinitialised;
  j["skipped"] = skipped;
  j["in_channels"] = adapted > 0 ? nlohmann::ordered_json{{"from", inChannelsFrom}, {"to", inChannelsTo}}
                                 : nlohmann::ordered_json(nullptr);
  j["classes"] = classesFrom > 0 ? nlohmann::ordered_json{{"from", classesFrom}, {"to", classesTo}}
                                 : nlohmann::ordered_json(nullptr);
  auto tensors = nlohmann::ordered_json::array();
  for (const auto& e : entries) {
    nlohmann::ordered_json t;
    t["name"] = e.name;
    t["action"] = initActionName(e.action);
    // null: the side that lacks the tensor (a skipped checkpoint head, a head the checkpoint lacks).
    t["model_shape"] = e.action == InitAction::Skipped ? nlohmann::ordered_json(nullptr)
                                                       : nlohmann::ordered_json(e.modelShape);
    t["checkpoint_shape"] = e.action == InitAction::Reinitialised && e.sourceShape.empty()
                                ? nlohmann::ordered_json(nullptr)
                                : nlohmann::ordered_json(e.sourceShape);
    tensors.push_back(t);
  }
  j["tensors"] = tensors;
  return j.dump(2) + "\n";
}

NamedTensors readCheckpointWeights(const std::string& path) {
  readCheckpointState(path);  // InputError for a missing file or one that is no segtrain checkpoint
  torch::jit::Module archive;
  try {
    // A checkpoint is a TorchScript archive (torch::serialize); the model's tensors sit
    // under the "model" sub-archive with their module-tree names.
    archive = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw InputError("checkpoint '" + path + "' cannot be read: " + e.what_without_backtrace());
  }
  const std::string prefix = "model.";
  NamedTensors out;
  for (const auto& item : archive.named_parameters(/*recurse=*/true))
    if (startsWith(item.name, prefix)) out.emplace_back(item.name.substr(prefix.size()), item.value.detach());
  for (const auto& item : archive.named_buffers(/*recurse=*/true))
    if (startsWith(item.name, prefix)) out.emplace_back(item.name.substr(prefix.size()), item.value.detach());
  if (out.empty()) throw InputError("checkpoint '" + path + "' holds no model weights");
  return out;
}

int64_t setParametersFrozen(torch::nn::Module& model, const std::string& prefix, bool frozen) {
  int64_t matched = 0;
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    if (!startsWith(item.key(), prefix)) continue;
    torch::Tensor& p = item.value();
    p.set_requires_grad(!frozen);
    if (frozen) p.mutable_grad() = torch::Tensor();
    ++matched;
  }
  if (matched == 0) throw InputError("freezing '" + prefix + "*': the model has no parameter of that name");
  return matched;
}

}  // namespace seg
