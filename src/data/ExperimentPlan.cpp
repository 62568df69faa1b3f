#include "data/ExperimentPlan.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/Error.h"
#include "data/Preprocess.h"

namespace seg {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

double product(const std::array<double, 3>& v) { return v[0] * v[1] * v[2]; }
double product(const Triple& v) {
  return static_cast<double>(v[0]) * static_cast<double>(v[1]) * static_cast<double>(v[2]);
}

// Python's round() and numpy's np.round: halves to even (the default FP rounding mode).
double roundHalfEven(double x) { return std::nearbyint(x); }

double median(std::vector<double> v) { return percentile(v, 50); }

std::string str(const Triple& t) {
  std::ostringstream s;
  s << t[0] << "x" << t[1] << "x" << t[2];
  return s.str();
}

// nnU-Net's axis order for a spacing given in x, y, z: the array order z, y, x, with the
// axis of the largest spacing moved first (ExperimentPlanner.determine_transpose; np.argmax
// takes the first maximum). Element i is the x/y/z index of nnU-Net's axis i.
std::array<int, 3> nnunetAxisOrder(const std::array<double, 3>& spacing) {
  const std::array<int, 3> zyx{2, 1, 0};
  int first = 0;
  for (int i = 1; i < 3; ++i)
    if (spacing[zyx[i]] > spacing[zyx[first]]) first = i;
  std::array<int, 3> order{zyx[first], 0, 0};
  int k = 1;
  for (int i = 0; i < 3; ++i)
    if (i != first) order[k++] = zyx[i];
  return order;
}

std::vector<int64_t> featuresPerStage(size_t stages, const ExperimentPlanOptions& o) {
  std::vector<int64_t> f;
  for (size_t s = 0; s < stages; ++s) {
    const double wanted = static_cast<double>(o.baseFeatures) * std::pow(2.0, static_cast<double>(s));
    f.push_back(static_cast<int64_t>(std::min<double>(static_cast<double>(o.maxFeatures), wanted)));
  }
  return f;
}

NetworkSpec networkFor(const Topology& t, int64_t inChannels, int64_t numClasses, const ExperimentPlanOptions& o) {
  NetworkSpec n;
  const size_t stages = t.strides.size();
  n.inChannels = inChannels;
  n.numClasses = numClasses;
  n.features = featuresPerStage(stages, o);
  n.strides = t.strides;
  n.kernels = t.kernels;
  if (o.preset == PlanPreset::Plain) {
    n.name = "unet";
    n.encoderBlocks.assign(stages, 2);  // UNet_blocks_per_stage_encoder (2, 2, ...)
    n.decoderConvs = 2;
  } else {
    n.name = "resenc_unet";
    // ResEncUNetPlanner.UNet_blocks_per_stage_encoder (1, 3, 4, 6, 6, 6, ...), decoder (1, ...).
    for (size_t s = 0; s < stages; ++s) n.encoderBlocks.push_back(s == 0 ? 1 : s == 1 ? 3 : s == 2 ? 4 : 6);
    n.decoderConvs = 1;
  }
  n.deepSupervision = true;
  return n;
}

double convParams(int64_t in, int64_t out, const Triple& k, bool bias = true) {
  return static_cast<double>(in) * static_cast<double>(out) * product(k) + (bias ? static_cast<double>(out) : 0.0);
}

}  // namespace

namespace {

// get_pool_and_conv_props on a patch that may be fractional: nnU-Net clips the initial
// patch to the median shape, which is a half-integer for an even number of cases, and its
// pad_shape then works on that value (x + d - x mod d, truncated).
Topology topologyFor(const std::array<double, 3>& spacing, const std::array<double, 3>& patchSize,
                     int64_t minFeatureMapSize, int64_t maxPoolsPerAxis) {
  for (int a = 0; a < 3; ++a) {
    if (!(spacing[a] > 0)) throw InputError("topology: spacing must be > 0 on every axis");
    if (!(patchSize[a] >= 1)) throw InputError("topology: patch size must be >= 1 on every axis");
  }
  Topology t;
  std::array<double, 3> currentSpacing = spacing;
  std::array<double, 3> currentSize = patchSize;
  Triple kernel{1, 1, 1};
  t.strides.push_back({1, 1, 1});
  const double minEdge = static_cast<double>(minFeatureMapSize);
  while (true) {
    // Axes still at least 2x the smallest allowed edge, within a factor 2 of the finest
    // spacing among them, not yet pooled maxPoolsPerAxis times.
    std::vector<int> valid;
    for (int a = 0; a < 3; ++a)
      if (currentSize[a] >= 2 * minEdge) valid.push_back(a);
    if (valid.empty()) break;
    double minValid = currentSpacing[valid[0]];
    for (int a : valid) minValid = std::min(minValid, currentSpacing[a]);
    std::vector<int> pool;
    for (int a : valid)
      if (currentSpacing[a] / minValid < 2 && t.poolsPerAxis[a] < maxPoolsPerAxis) pool.push_back(a);
    // A single axis pools only while it is at least 3x the smallest edge.
    if (pool.size() == 1 && currentSize[pool[0]] < 3 * minEdge) break;
    if (pool.empty()) break;
    // Kernels turn 3 once their axis is within a factor 2 of the finest spacing, and stay 3.
    const double minSpacing = *std::min_element(currentSpacing.begin(), currentSpacing.end());
    for (int a = 0; a < 3; ++a)
      if (kernel[a] != 3 && currentSpacing[a] / minSpacing < 2) kernel[a] = 3;
    Triple stride{1, 1, 1};
    for (int a : pool) {
      stride[a] = 2;
      ++t.poolsPerAxis[a];
      currentSpacing[a] *= 2;
      currentSize[a] = std::ceil(currentSize[a] / 2);
    }
    t.strides.push_back(stride);
    t.kernels.push_back(kernel);
  }
  t.kernels.push_back({3, 3, 3});  // the bottleneck always has 3x3x3 convs
  for (int a = 0; a < 3; ++a) {
    t.divisor[a] = int64_t{1} << t.poolsPerAxis[a];
    // pad_shape: the next multiple of the divisor (the size itself when it is one).
    const double d = static_cast<double>(t.divisor[a]);
    const double rest = std::fmod(patchSize[a], d);
    t.patchSize[a] = static_cast<int64_t>(rest == 0 ? patchSize[a] : patchSize[a] + d - rest);
  }
  return t;
}

std::array<double, 3> asDouble(const Triple& t) {
  return {static_cast<double>(t[0]), static_cast<double>(t[1]), static_cast<double>(t[2])};
}

}  // namespace

Topology poolAndConvProps(const std::array<double, 3>& spacing, const Triple& patchSize, int64_t minFeatureMapSize,
                          int64_t maxPoolsPerAxis) {
  return topologyFor(spacing, asDouble(patchSize), minFeatureMapSize, maxPoolsPerAxis);
}

Topology poolAndConvPropsFractional(const std::array<double, 3>& spacing, const std::array<double, 3>& patchSize,
                                    int64_t minFeatureMapSize, int64_t maxPoolsPerAxis) {
  return topologyFor(spacing, patchSize, minFeatureMapSize, maxPoolsPerAxis);
}

PlanPreset parsePlanPreset(const std::string& name) {
  if (name == "plain") return PlanPreset::Plain;
  if (name == "resenc_m") return PlanPreset::ResEncM;
  if (name == "resenc_l") return PlanPreset::ResEncL;
  if (name == "resenc_xl") return PlanPreset::ResEncXL;
  throw InputError("--preset: unknown preset '" + name + "' (known: plain, resenc_m, resenc_l, resenc_xl)");
}

std::string presetName(PlanPreset preset) {
  switch (preset) {
    case PlanPreset::Plain: return "plain";
    case PlanPreset::ResEncM: return "resenc_m";
    case PlanPreset::ResEncL: return "resenc_l";
    case PlanPreset::ResEncXL: return "resenc_xl";
  }
  return "plain";
}

double presetMemoryGb(PlanPreset preset) {
  switch (preset) {
    case PlanPreset::ResEncL: return 24;
    case PlanPreset::ResEncXL: return 40;
    default: return 8;
  }
}

MemoryEstimate estimateTrainingMemory(const NetworkSpec& n, const Triple& patchSize, int64_t batchSize,
                                      const MemoryModelOptions& o) {
  const size_t stages = n.features.size();
  if (stages == 0 || n.strides.size() != stages || n.kernels.size() != stages || n.encoderBlocks.size() != stages) {
    throw InputError("memory model: features, strides, kernels and encoder blocks need one entry per stage");
  }
  // Voxels per sample at every stage's resolution.
  std::vector<double> voxels(stages);
  Triple size = patchSize;
  for (size_t s = 0; s < stages; ++s) {
    for (int a = 0; a < 3; ++a) size[a] = std::max<int64_t>(1, size[a] / n.strides[s][a]);
    voxels[s] = product(size);
  }
  const auto& f = n.features;
  const bool resenc = n.name == "resenc_unet";
  // Elements per sample that autograd keeps (see docs/planning.md): per conv -> norm ->
  // LeakyReLU(in place) the conv output (the norm's input) and the activation output;
  // the next conv's input is that output, not a copy.
  double saved = static_cast<double>(n.inChannels) * voxels[0];  // the input cast for conv 1
  double largest = 0;
  double params = 0;
  int64_t in = n.inChannels;
  if (resenc) {
    saved += 2 * f[0] * voxels[0];  // stem conv -> norm -> act
    params += convParams(in, f[0], n.kernels[0]) + 2.0 * f[0];
    in = f[0];
  }
  for (size_t s = 0; s < stages; ++s) {
    const double v = voxels[s], c = static_cast<double>(f[s]);
    const int64_t blocks = n.encoderBlocks[s];
    if (!resenc) {
      saved += 2.0 * static_cast<double>(blocks) * c * v;
      params += convParams(in, f[s], n.kernels[s]) + (blocks - 1) * convParams(f[s], f[s], n.kernels[s]) +
                2.0 * c * static_cast<double>(blocks);
    } else {
      // BasicBlockD: conv1 -> norm -> act (2 maps), conv2 -> norm (its output, to which the
      // residual is added in place and then activated in place: 2 maps). The first block of
      // a stage that changes resolution or width has the skip AvgPool -> 1x1 conv -> norm:
      // the pooled input (kept by the 1x1 conv) and the 1x1 output (kept by the norm).
      saved += 4.0 * static_cast<double>(blocks) * c * v;
      const bool pooled = n.strides[s] != Triple{1, 1, 1};
      const bool widened = in != f[s];
      if (widened) saved += (pooled ? static_cast<double>(in) * v : 0.0) + c * v;
      params += convParams(in, f[s], n.kernels[s]) + convParams(f[s], f[s], n.kernels[s]) + 4.0 * c +
                (widened ? convParams(in, f[s], {1, 1, 1}, false) + 2.0 * c : 0.0) +
                (blocks - 1) * (2 * convParams(f[s], f[s], n.kernels[s]) + 4.0 * c);
    }
    largest = std::max(largest, c * v);
    in = f[s];
  }
  // Decoder stage s: the transposed conv's output is freed by the concatenation; the
  // concatenation (2 f_s maps, the first conv's input) and 2 maps per conv are kept.
  double lossElements = 0, labelElements = 0;
  for (size_t s = stages - 1; s-- > 0;) {
    const double v = voxels[s], c = static_cast<double>(f[s]);
    saved += (2.0 + 2.0 * static_cast<double>(n.decoderConvs)) * c * v;
    largest = std::max(largest, 2 * c * v);
    Triple up = n.strides[s + 1];
    params += convParams(f[s + 1], f[s], up, false) + convParams(2 * f[s], f[s], n.kernels[s]) +
              (n.decoderConvs - 1) * convParams(f[s], f[s], n.kernels[s]) + 2.0 * c * static_cast<double>(n.decoderConvs);
    if (s == 0 || n.deepSupervision) {
      params += convParams(f[s], n.numClasses, {1, 1, 1});
      lossElements += static_cast<double>(n.numClasses) * v;
      labelElements += v;
    }
  }
  if (stages == 1) {  // no decoder: the head sits on the only stage
    params += convParams(f[0], n.numClasses, {1, 1, 1});
    lossElements += static_cast<double>(n.numClasses) * voxels[0];
    labelElements += voxels[0];
  }
  const double b = static_cast<double>(batchSize);
  const double act = static_cast<double>(o.activationBytes);
  MemoryEstimate e;
  e.parameterCount = static_cast<int64_t>(params);
  e.activations = b * saved * act;
  // The loss per level: the logits (activation dtype, held by the outputs), their fp32
  // softmax and log-softmax (kept by their backward), the fp32 one-hot target, the
  // labels; plus the fp32 input batch.
  e.loss = b * (lossElements * (act + 3.0 * static_cast<double>(o.lossBytes)) +
                labelElements * static_cast<double>(o.labelBytes) +
                static_cast<double>(n.inChannels) * voxels[0] * 4.0);
  const double perParam = 12.0 + (o.autocastWeightCopies && o.activationBytes < 4 ? act : 0.0);
  e.parameters = params * perParam;
  e.workspace = o.backwardMaps * b * largest * act + o.convWorkspaceBytes;
  return e;
}

ExperimentPlan planConfiguration(const std::array<double, 3>& spacing, const std::array<double, 3>& medianShape,
                                 double datasetVoxels, int64_t inChannels, int64_t numClasses,
                                 const ExperimentPlanOptions& o) {
  if (!(o.gpuMemoryGb > 0)) throw InputError("--gpu-memory-gb: must be > 0");
  if (o.minBatch < 1) throw InputError("plan: minimum batch size must be >= 1");
  if (inChannels < 1 || numClasses < 2) throw InputError("plan: needs >= 1 channel and >= 2 classes");
  for (int a = 0; a < 3; ++a)
    if (!(spacing[a] > 0) || !(medianShape[a] >= 1)) throw InputError("plan: spacing and median shape must be positive");
  ExperimentPlan plan;
  plan.preset = o.preset;
  plan.gpuMemoryGb = o.gpuMemoryGb;
  plan.spacing = spacing;
  plan.medianShape = medianShape;
  plan.budgetBytes = (o.usableFraction * o.gpuMemoryGb - o.contextGb) * kGiB;
  if (!(plan.budgetBytes > 0)) {
    std::ostringstream m;
    m << "--gpu-memory-gb " << o.gpuMemoryGb << ": leaves nothing for training after the " << o.contextGb
      << " GiB CUDA context (need more than " << o.contextGb / o.usableFraction << " GB)";
    throw InputError(m.str());
  }
  const double share = o.maxDatasetShare >= 0 ? o.maxDatasetShare : (o.preset == PlanPreset::Plain ? 0.05 : 1.0);

  // Initial patch: the spacing's aspect ratio at the volume of 256^3 voxels, clipped to the
  // median shape (get_plans_for_configuration).
  const std::array<double, 3> inv{1 / spacing[0], 1 / spacing[1], 1 / spacing[2]};
  const double scale = std::cbrt(256.0 * 256.0 * 256.0 / product(inv));
  std::array<double, 3> initial{};
  for (int a = 0; a < 3; ++a) initial[a] = std::max(1.0, std::min(roundHalfEven(inv[a] * scale), medianShape[a]));
  Topology topo = topologyFor(spacing, initial, o.minFeatureMapSize, 999999);
  Triple patch = topo.patchSize;
  auto estimateAt = [&](const Topology& t, int64_t batch) {
    return estimateTrainingMemory(networkFor(t, inChannels, numClasses, o), t.patchSize, batch, o.memory);
  };
  const std::array<int, 3> order = nnunetAxisOrder(spacing);
  // Shrink the axis largest relative to the median shape (ties: the last in nnU-Net's axis
  // order, as np.argsort(...)[-1]) until batch 2 fits. The step is the divisor after one
  // divisor's step, so that sizes like 224 = 7 x 32 between multiples of 64 are not skipped.
  while (estimateAt(topo, 2).total() > plan.budgetBytes) {
    patch = topo.patchSize;
    int axis = order[0];
    double worst = -1;
    for (int i = 0; i < 3; ++i) {
      const double ratio = static_cast<double>(patch[order[i]]) / medianShape[order[i]];
      if (ratio >= worst) worst = ratio, axis = order[i];
    }
    Triple trial = patch;
    trial[axis] -= topo.divisor[axis];
    if (trial[axis] < 1) {
      std::ostringstream m;
      m << "--gpu-memory-gb " << o.gpuMemoryGb << ": too small for preset " << presetName(o.preset)
        << ": even patch " << str(patch) << " with batch 2 needs an estimated "
        << estimateAt(topo, 2).total() / kGiB << " GiB (budget " << plan.budgetBytes / kGiB << " GiB)";
      throw InputError(m.str());
    }
    patch[axis] -= poolAndConvProps(spacing, trial, o.minFeatureMapSize).divisor[axis];
    topo = poolAndConvProps(spacing, patch, o.minFeatureMapSize);
  }
  // Batch: all the headroom (activations and loss scale with the batch), then at most
  // `share` of the dataset's voxels per batch, never below minBatch.
  const MemoryEstimate one = estimateAt(topo, 1), two = estimateAt(topo, 2);
  const double perSample = two.total() - one.total();
  const double fixed = one.total() - perSample;
  int64_t batch = static_cast<int64_t>(std::floor((plan.budgetBytes - fixed) / perSample));
  const double patchVoxels = product(topo.patchSize);
  const int64_t byShare = static_cast<int64_t>(roundHalfEven(datasetVoxels * share / patchVoxels));
  batch = std::max(std::min(batch, byShare), o.minBatch);
  plan.patchSize = topo.patchSize;
  plan.batchSize = batch;
  plan.network = networkFor(topo, inChannels, numClasses, o);
  plan.estimate = estimateAt(topo, batch);
  return plan;
}

ExperimentPlan planExperiment(const DatasetFingerprint& fp, int64_t inChannels, int64_t numClasses,
                              const ExperimentPlanOptions& o) {
  if (fp.cases.empty()) throw InputError("plan: no cases");
  std::vector<std::array<double, 3>> spacings;
  std::vector<std::array<int64_t, 3>> sizes;
  for (const CaseFingerprint& c : fp.cases) spacings.push_back(c.spacing), sizes.push_back(c.size);
  const std::array<double, 3> spacing = medianTargetSpacing(spacings, sizes);
  // compute_new_shape per case (np.round(old_spacing / new_spacing * old_shape)), then the median.
  std::array<double, 3> medianShape{};
  for (int a = 0; a < 3; ++a) {
    std::vector<double> shape;
    for (const CaseFingerprint& c : fp.cases)
      shape.push_back(roundHalfEven(c.spacing[a] / spacing[a] * static_cast<double>(c.size[a])));
    medianShape[a] = median(shape);
  }
  const double datasetVoxels = product(medianShape) * static_cast<double>(fp.cases.size());
  ExperimentPlan plan = planConfiguration(spacing, medianShape, datasetVoxels, inChannels, numClasses, o);

  // nnU-Net's 3d_lowres rule (plan_experiment): while the patch covers under a quarter of the
  // median shape, coarsen the spacing by 3% (the anisotropic axes first, until within a
  // factor 2) and re-plan. A lowres configuration exists, and 3d_fullres then uses batch
  // Dice, unless its median shape is under half the fullres one in voxels.
  const double fullresVoxels = product(medianShape);
  double medianVoxels = fullresVoxels;
  double patchVoxels = product(plan.patchSize);
  std::array<double, 3> lowres = spacing;
  bool haveLowres = false;
  for (int guard = 0; patchVoxels / medianVoxels < 0.25 && guard < 1000; ++guard) {
    const double maxSpacing = *std::max_element(lowres.begin(), lowres.end());
    bool anyAniso = false;
    for (double s : lowres) anyAniso = anyAniso || maxSpacing / s > 2;
    std::array<double, 3> next = lowres;
    for (int a = 0; a < 3; ++a)
      if (!anyAniso || maxSpacing / lowres[a] > 2) next[a] *= 1.03;
    lowres = next;
    std::array<double, 3> shape{};
    medianVoxels = 1;
    for (int a = 0; a < 3; ++a) {
      medianVoxels *= spacing[a] / lowres[a] * medianShape[a];
      shape[a] = roundHalfEven(spacing[a] / lowres[a] * medianShape[a]);
    }
    const ExperimentPlan low =
        planConfiguration(lowres, shape, medianVoxels * static_cast<double>(fp.cases.size()), inChannels, numClasses, o);
    patchVoxels = product(low.patchSize);
    haveLowres = true;
  }
  plan.batchDice = haveLowres && fullresVoxels / medianVoxels >= 2;
  return plan;
}

}  // namespace seg
