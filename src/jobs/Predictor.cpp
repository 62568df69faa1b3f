#include "jobs/Predictor.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "config/ConfigLoader.h"
#include "core/Error.h"
#include "core/Log.h"
#include "data/Resample.h"
#include "infer/Ensemble.h"
#include "infer/PredictionLabels.h"
#include "infer/SlidingWindow.h"
#include "jobs/DataSetup.h"
#include "jobs/Factories.h"
#include "models/UNet.h"
#include "train/Checkpoint.h"

namespace seg {

namespace {

struct Member {
  std::string checkpoint;
  UNet net{nullptr};
  TrainConfig config;
  int64_t numClasses = 2;  // output channels (one per region with regions)
  int64_t inChannels = 1;
  PredictionRule rule;     // the run's regions / ignore label and activation
  PreprocessOptions preprocess;
};

Member loadMember(const std::string& checkpoint, torch::Device device) {
  Member m;
  m.checkpoint = checkpoint;
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
  m.preprocess = preprocessOptions(m.config.data, checkpoint + " (stored config)");
  m.net->to(device);
  m.net->eval();
  return m;
}

template <typename T>
std::string listText(const std::vector<T>& values) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  out << ']';
  return out.str();
}

std::string regionsText(const LabelEncoding& e) {
  if (!e.hasRegions()) return "classes (no regions)";
  std::ostringstream out;
  for (size_t r = 0; r < e.regions.size(); ++r) {
    out << (r ? "; " : "") << e.regionNames[r] << '=' << listText(e.regions[r]) << " painted "
        << e.regionsClassOrder[r];
  }
  return out.str();
}

bool closeTo(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)}); }
bool closeTo(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!closeTo(a[i], b[i])) return false;
  return true;
}

// An ensemble needs one input (one preprocessing, one patch grid) and one meaning of each
// output channel; anything else is refused rather than silently averaged.
void checkMemberAgrees(const Member& first, const Member& m) {
  auto differ = [&](const std::string& what, const std::string& mine, const std::string& theirs) {
    throw InputError("ensemble member '" + m.checkpoint + "' differs from '" + first.checkpoint + "' in " + what +
                     ": " + mine + " vs " + theirs + " (every member must be trained on the same data setup)");
  };
  if (m.inChannels != first.inChannels) {
    differ("input channels", std::to_string(m.inChannels), std::to_string(first.inChannels));
  }
  if (m.numClasses != first.numClasses) {
    differ("output channels", std::to_string(m.numClasses), std::to_string(first.numClasses));
  }
  const LabelEncoding& a = m.rule.encoding;
  const LabelEncoding& b = first.rule.encoding;
  if (a.regions != b.regions || a.regionsClassOrder != b.regionsClassOrder) {
    differ("label encoding (data.regions / regions_class_order)", regionsText(a), regionsText(b));
  }
  if (a.ignoreLabel != b.ignoreLabel) {
    differ("ignore label (data.ignore_label)", std::to_string(a.ignoreLabel), std::to_string(b.ignoreLabel));
  }
  if (m.rule.sigmoid != first.rule.sigmoid) {
    auto act = [](const Member& x) { return std::string(x.rule.sigmoid ? "sigmoid" : "softmax"); };
    differ("activation (loss.activation)", act(m), act(first));
  }
  const auto& pa = m.config.data.patch_size;
  const auto& pb = first.config.data.patch_size;
  if (pa != pb) {
    differ("patch size (data.patch_size)", listText(std::vector<int64_t>(pa.begin(), pa.end())),
           listText(std::vector<int64_t>(pb.begin(), pb.end())));
  }
  const PreprocessOptions& qa = m.preprocess;
  const PreprocessOptions& qb = first.preprocess;
  if (qa.reorient != qb.reorient) {
    differ("data.reorient", qa.reorient ? "true" : "false", qb.reorient ? "true" : "false");
  }
  if (!closeTo(std::vector<double>(qa.spacing.begin(), qa.spacing.end()),
               std::vector<double>(qb.spacing.begin(), qb.spacing.end()))) {
    differ("target spacing (data.target_spacing, 0 = not resampled)",
           listText(std::vector<double>(qa.spacing.begin(), qa.spacing.end())),
           listText(std::vector<double>(qb.spacing.begin(), qb.spacing.end())));
  }
  if (m.config.data.normalization != first.config.data.normalization) {
    differ("data.normalization", m.config.data.normalization, first.config.data.normalization);
  }
  if (qa.nonzeroMask != qb.nonzeroMask) {
    differ("data.nonzero_mask", qa.nonzeroMask ? "true" : "false", qb.nonzeroMask ? "true" : "false");
  }
  if (qa.normalization == Normalization::CT) {
    const std::pair<const char*, std::pair<const std::vector<double>*, const std::vector<double>*>> stats[] = {
        {"clip_low", {&qa.ct.clipLow, &qb.ct.clipLow}},
        {"clip_high", {&qa.ct.clipHigh, &qb.ct.clipHigh}},
        {"mean", {&qa.ct.mean, &qb.ct.mean}},
        {"std", {&qa.ct.std, &qb.ct.std}}};
    for (const auto& [key, values] : stats) {
      if (!closeTo(*values.first, *values.second)) {
        differ(std::string("CT statistics (data.ct_stats.") + key + ")", listText(*values.first),
               listText(*values.second));
      }
    }
  }
}

}  // namespace

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

int labelValueBound(const LabelEncoding& e, int numClasses) {
  int bound = e.hasRegions() ? 1 : numClasses;
  for (const auto& r : e.regions)
    for (int v : r) bound = std::max(bound, v + 1);
  for (int v : e.regionsClassOrder) bound = std::max(bound, v + 1);
  if (e.hasIgnore()) bound = std::max(bound, e.ignoreLabel + 1);
  return bound;
}

struct Predictor::Impl {
  std::vector<Member> members;
  SlidingWindowOptions window;
  torch::Device device{torch::kCPU};

  // Prediction of one case in its input geometry (uint8 class map) by `network`, whose output is
  // logits (one member) or probabilities (`outputsProbabilities`, an ensemble). When
  // preprocessing changed the grid, the probabilities are resampled linearly back onto the
  // input grid (physical space, so reorientation is undone too) and the classes taken there, as
  // nnU-Net does with its resampled probabilities.
  LabelVolume run(const LoadedCase& c, const Network& network, bool outputsProbabilities, Volume* probabilities) const {
    const Member& model = members.front();
    const auto& g = c.image.geometry;
    if (c.image.channels != model.inChannels) {
      throw InputError("case '" + c.id + "' has " + std::to_string(c.image.channels) +
                       " channels but the model was trained on " + std::to_string(model.inChannels));
    }
    auto image = torch::from_blob(const_cast<float*>(c.image.data.data()),
                                  {c.image.channels, g.size[2], g.size[1], g.size[0]}, torch::kFloat32);
    torch::NoGradGuard noGrad;
    const torch::Tensor scores = slidingWindowInference(image, network, window);
    const bool regrid = !g.sameGrid(c.inputGeometry, 1e-6);
    torch::Tensor probs;
    if (outputsProbabilities) probs = scores;
    else if (probabilities || regrid) probs = probabilitiesFromLogits(scores, model.rule);
    if (regrid) {
      Volume onGrid;
      onGrid.geometry = g;
      onGrid.channels = probs.size(0);
      probs = probs.contiguous();
      onGrid.data.assign(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
      const Volume back = resampleImage(onGrid, c.inputGeometry);
      const auto& s = c.inputGeometry.size;
      probs = torch::from_blob(const_cast<float*>(back.data.data()), {back.channels, s[2], s[1], s[0]},
                               torch::kFloat32)
                  .clone();
    }
    // Decide on probabilities after resampling (logits of the two paths would not be
    // comparable); sigmoid channels at 0.5, regions painted in regions_class_order.
    const torch::Tensor classes = regrid || outputsProbabilities ? labelsFromScores(probs, model.rule, true)
                                                                 : labelsFromScores(scores, model.rule, false);
    if (probabilities) {
      probs = probs.contiguous();
      probabilities->geometry = c.inputGeometry;
      probabilities->channels = probs.size(0);
      probabilities->data.assign(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
    }
    LabelVolume out;
    out.geometry = c.inputGeometry;
    out.data.assign(classes.data_ptr<uint8_t>(), classes.data_ptr<uint8_t>() + classes.numel());
    return out;
  }

  Network logitsOf(size_t m) const {
    UNet net = members[m].net;  // a shared handle: eval mode, no state changes on forward
    return [net](const torch::Tensor& x) mutable { return net->forward(x); };
  }
};

Predictor::Predictor(const std::vector<std::string>& checkpoints, const PredictorOptions& o)
    : impl_(std::make_unique<Impl>()) {
  if (checkpoints.empty()) throw InputError("--checkpoint: no checkpoint given");
  auto log = logger("eval");
  impl_->device = resolveDevice(o.device, "--device");
  for (size_t i = 0; i < checkpoints.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (checkpoints[j] == checkpoints[i]) {
        log->warn("--checkpoint: '{}' is given twice: it counts twice in the ensemble", checkpoints[i]);
      }
    }
    impl_->members.push_back(loadMember(checkpoints[i], impl_->device));
    if (i > 0) checkMemberAgrees(impl_->members.front(), impl_->members.back());
  }
  const Member& first = impl_->members.front();
  if (first.config.data.resample && first.config.data.target_spacing.empty()) {
    log->warn("{}: the stored config has no data.target_spacing: predicting at each input's own spacing",
              first.checkpoint);
  }
  const auto& p = first.config.data.patch_size;
  SlidingWindowOptions& w = impl_->window;
  w.patchZYX = {p[2], p[1], p[0]};
  w.overlap = o.overlap >= 0 ? o.overlap : first.config.eval.overlap;
  w.tileBatch = o.tileBatch > 0 ? o.tileBatch : first.config.eval.tile_batch;
  w.workers = resolveTileWorkers(o.tileWorkers >= 0 ? o.tileWorkers : first.config.eval.tile_workers, impl_->device);
  w.mirror = o.mirror || first.config.eval.mirror_tta;
  w.device = impl_->device;
}

Predictor::~Predictor() = default;

size_t Predictor::size() const { return impl_->members.size(); }
const std::string& Predictor::checkpoint(size_t m) const { return impl_->members.at(m).checkpoint; }
const TrainConfig& Predictor::config() const { return impl_->members.front().config; }
const LabelEncoding& Predictor::encoding() const { return impl_->members.front().rule.encoding; }
int64_t Predictor::numClasses() const { return impl_->members.front().numClasses; }
int64_t Predictor::inChannels() const { return impl_->members.front().inChannels; }
const PreprocessOptions& Predictor::preprocess() const { return impl_->members.front().preprocess; }
int Predictor::labelBound() const {
  return labelValueBound(encoding(), static_cast<int>(numClasses()));
}
bool Predictor::sigmoid() const { return impl_->members.front().rule.sigmoid; }
double Predictor::overlap() const { return impl_->window.overlap; }
bool Predictor::mirror() const { return impl_->window.mirror; }

LabelVolume Predictor::predict(const LoadedCase& c, Volume* probabilities) const {
  if (impl_->members.size() == 1) return impl_->run(c, impl_->logitsOf(0), false, probabilities);
  std::vector<Network> networks;
  for (size_t m = 0; m < impl_->members.size(); ++m) networks.push_back(impl_->logitsOf(m));
  return impl_->run(c, averagedProbabilities(std::move(networks), sigmoid()), true, probabilities);
}

LabelVolume Predictor::predictMember(size_t m, const LoadedCase& c, Volume* probabilities) const {
  if (m >= impl_->members.size()) throw InternalError("Predictor::predictMember: no member " + std::to_string(m));
  return impl_->run(c, impl_->logitsOf(m), false, probabilities);
}

}  // namespace seg
