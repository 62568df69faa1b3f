#include "jobs/TrainJob.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "config/ConfigDiff.h"
#include "core/AtomicFile.h"
#include "config/ConfigLoader.h"
#include "core/Error.h"
#include "core/Log.h"
#include "core/TorchInfo.h"
#include "data/CaseLoader.h"
#include "data/Dataset.h"
#include "data/Splits.h"
#include "train/Checkpoint.h"
#include "train/InitFrom.h"
#include "train/ModelSelection.h"
#include "jobs/DataSetup.h"
#include "jobs/Factories.h"
#include "train/dist/DataParallel.h"
#include "train/dist/ProcessGroup.h"

namespace seg {

namespace fs = std::filesystem;

namespace {

std::array<int64_t, 3> toZYX(const std::array<int64_t, 3>& xyz) { return {xyz[2], xyz[1], xyz[0]}; }

// A 4D file where dataset.json declares one channel per file (or the reverse) would
// otherwise surface later as a shape error inside the network.
void checkChannels(const std::vector<LoadedCase>& cases, const DatasetManifest& manifest) {
  const int64_t declared = static_cast<int64_t>(manifest.channelNames.size());
  for (const auto& c : cases) {
    if (c.image.channels != declared) {
      throw InputError("case '" + c.id + "': image has " + std::to_string(c.image.channels) +
                       " channel(s) but " + manifest.root + "/dataset.json declares " + std::to_string(declared) +
                       " (a 4D file where a 3D one is expected?)");
    }
  }
}

// train.init_from (train/InitFrom.h): another run's weights into the freshly built model.
// Only for a fresh run: a resumed one continues from its own checkpoint, which holds them.
void initialiseFrom(const TrainConfig& config, const CheckpointState& source, torch::nn::Module& model,
                    const fs::path& outDir, bool writeReport) {
  auto log = logger("train");
  const std::string& path = config.train.init_from;
  try {
    const TrainConfig before = parseTrainConfig(source.configYaml, path + " (stored config)");
    if (before.model.name != config.model.name) {
      log->warn("train.init_from {}: trained a {} model, this run builds a {}", path, before.model.name,
                config.model.name);
    }
    if (before.data.normalization != config.data.normalization) {
      log->warn("train.init_from {}: trained with data.normalization {}, this run uses {} (the weights expect "
                "inputs normalised as before)", path, before.data.normalization, config.data.normalization);
    }
    // Instance and group norm have the same tensors: only the config tells them apart.
    if (before.model.norm != config.model.norm) {
      log->warn("train.init_from {}: trained with model.norm {}, this run uses {}", path, before.model.norm,
                config.model.norm);
    }
  } catch (const InputError& e) {
    log->warn("train.init_from {}: its stored config cannot be read, model family and normalization not compared: {}",
              path, e.what());
  }
  InitFromOptions options;
  options.source = path;
  InitFromReport report;
  try {
    report = initFrom(model, readCheckpointWeights(path), options);
  } catch (const InputError& e) {
    throw InputError(std::string("train.init_from: ") + e.what());
  }
  log->info("train.init_from {}: {}", path, report.summary());
  if (writeReport) writeFileAtomically((outDir / "init_from.json").string(), report.toJson());
}

std::string joinValues(const std::vector<int>& values) {
  std::string out;
  for (int v : values) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out;
}

}  // namespace

LabelEncoding resolveLabelEncoding(DataConfig& data, const LossConfig& loss, const DatasetManifest& manifest) {
  auto log = logger("train");
  const std::string file = data.cases.empty() ? manifest.root + "/dataset.json" : std::string("data.labels");
  LabelEncoding e;
  if (!data.regions.empty()) {
    for (const RegionConfig& r : data.regions) {
      std::vector<int> values(r.labels.begin(), r.labels.end());
      std::sort(values.begin(), values.end());
      e.regions.push_back(values);
      e.regionNames.push_back(r.name);
    }
    e.regionsClassOrder.assign(data.regions_class_order.begin(), data.regions_class_order.end());
    if (!manifest.regions.empty()) {
      log->info("data.regions: the config's {} regions replace the {} regions of {}", e.regions.size(),
                manifest.regions.size(), file);
    }
  } else if (!manifest.regions.empty()) {
    std::string names;
    for (const LabelRegion& r : manifest.regions) {
      e.regions.push_back(r.labels);
      e.regionNames.push_back(r.name);
      names += (names.empty() ? "'" : ", '") + r.name + "'";
      data.regions.push_back({r.name, std::vector<int64_t>(r.labels.begin(), r.labels.end())});
    }
    e.regionsClassOrder = manifest.regionsClassOrder;
    data.regions_class_order.assign(e.regionsClassOrder.begin(), e.regionsClassOrder.end());
    if (loss.activation != "sigmoid") {
      throw InputError("loss.activation: must be sigmoid: " + file + " defines " + std::to_string(e.regions.size()) +
                       " regions (" + names + "), which overlap and are trained with one sigmoid channel each; got " +
                       loss.activation);
    }
    log->info("regions from {}: {} (one sigmoid channel each)", file, names);
  }
  e.ignoreLabel = data.ignore_label >= 0 ? static_cast<int>(data.ignore_label) : manifest.ignoreLabel;
  data.ignore_label = e.ignoreLabel;
  e.check("data.regions");
  for (size_t r = 0; r < e.regions.size(); ++r) {
    for (int v : e.regions[r]) {
      if (manifest.labels.count(v) && v != e.ignoreLabel) continue;
      std::string known;
      for (const auto& [value, name] : manifest.labels) known += (known.empty() ? "" : ", ") + std::to_string(value);
      throw InputError("data.regions: region '" + e.regionNames[r] + "' uses label value " + std::to_string(v) +
                       ", which is not a label of " + file + " (labels " + known + ")");
    }
  }
  if (e.hasIgnore()) {
    for (const auto& [value, name] : manifest.labels) {
      if (value > e.ignoreLabel) {
        throw InputError("data.ignore_label: " + std::to_string(e.ignoreLabel) + " must be above every class value (" +
                         file + " has " + std::to_string(value) + "), as nnU-Net requires of its ignore label");
      }
    }
    log->info("ignore label {}: those voxels get no loss, no pseudo-Dice and are never patch centres", e.ignoreLabel);
  }
  if (e.hasRegions()) {
    std::vector<int> order(e.regionsClassOrder.begin(), e.regionsClassOrder.end());
    log->info("{} regions, painted in the order {} (regions_class_order)", e.regions.size(), joinValues(order));
  }
  return e;
}

int classCount(const DatasetManifest& manifest, const LabelEncoding& labels) {
  int top = -1;
  for (const auto& [value, name] : manifest.labels)
    if (value != labels.ignoreLabel) top = std::max(top, value);
  return top + 1;
}

torch::Device resolveTrainDevice(const TrainConfig& config) {
  const torch::Device device = resolveDevice(config.train.device);
  if (config.dist.backend == "nccl" && !device.is_cuda()) {
    throw InputError("dist.backend: nccl needs a GPU, and train.device " + config.train.device +
                     " resolved to the CPU" + (visibleGpus() == 0 ? " (no GPU is visible)" : "") +
                     "; use gloo or auto on CPU");
  }
  return device;
}

TrainSummary runTrainJob(const TrainConfig& userConfig, const TrainJobOptions& job) {
  auto log = logger("train");
  // data.target_spacing and data.ct_stats are resolved below; the saved config has them.
  TrainConfig config = userConfig;
  torch::Device device = resolveTrainDevice(config);
  if (config.train.device == "auto" && !device.is_cuda()) {
    log->info("train.device auto: no GPU visible, training on the CPU");
  }
  const fs::path outDir(config.output.dir);
  const fs::path latest = outDir / "checkpoint_latest.pt";
  if (job.resume && !fs::exists(latest)) {
    throw InputError("--resume: no checkpoint to resume in '" + outDir.string() + "' (expected " +
                     latest.string() + ")");
  }
  if (!job.resume && fs::exists(latest)) {
    throw InputError("output directory '" + outDir.string() +
                     "' already holds a run: pass --resume to continue it or choose another output.dir");
  }
  if (job.resume) {
    // A resumed run must be the same run: only the length of training and
    // operational keys (logging, loader threads, checkpoint interval) may change.
    static const std::vector<std::string> mayChange = {
        "train.epochs",      "output.log_level", "output.checkpoint_every_minutes", "output.tensorboard",
        "data.num_workers",  "data.cache_dir",   "data.queue_depth",                "output.dir",
        "dist.backend",      "dist.timeout_s",   "dist.rendezvous_timeout_s",       "dist.bucket_mb"};
    const CheckpointState stored = readCheckpointState(latest.string());
    const TrainConfig previous = parseTrainConfig(stored.configYaml, latest.string() + " (stored config)");
    takeResolvedKeys(config.data, previous.data);
    std::string refused;
    for (const auto& change : configDifferences(previous, config)) {
      if (std::find(mayChange.begin(), mayChange.end(), change.key) != mayChange.end()) continue;
      refused += "\n  " + change.key + ": " + change.before + " -> " + change.after;
    }
    if (!refused.empty()) {
      throw InputError("--resume: the config differs from the run in '" + outDir.string() +
                       "' in keys that would change the run (only train.epochs and logging/loader keys may "
                       "change):" + refused);
    }
  }
  const bool initialise = !config.train.init_from.empty() && !job.resume;
  CheckpointState initSource;
  if (initialise) {
    try {  // before anything is written: a wrong path leaves no run directory behind
      initSource = readCheckpointState(config.train.init_from);
    } catch (const InputError& e) {
      throw InputError(std::string("train.init_from: ") + e.what());
    }
  }
  std::error_code ec;
  fs::create_directories(outDir, ec);
  if (ec) throw InputError("cannot create output directory '" + outDir.string() + "': " + ec.message());

  if (config.train.threads > 0) torch::set_num_threads(config.train.threads);
  torch::manual_seed(config.train.seed);
  if (config.train.deterministic) at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
  std::shared_ptr<dist::DataParallel> parallel;
  if (job.launch.distributed()) {
    if (device.is_cuda()) {
      // One rank per GPU: the local rank picks the device.
      const int64_t gpus = static_cast<int64_t>(torch::cuda::device_count());
      if (job.launch.localRank >= gpus) {
        throw InputError("local rank " + std::to_string(job.launch.localRank) + " has no GPU: this node has " +
                         std::to_string(gpus) + " (start one rank per GPU)");
      }
      device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(job.launch.localRank));
    }
    dist::ProcessGroupOptions groupOptions;
    groupOptions.backend = config.dist.backend;
    groupOptions.timeout = std::chrono::seconds(config.dist.timeout_s);
    groupOptions.rendezvousTimeout = std::chrono::seconds(config.dist.rendezvous_timeout_s);
    parallel = std::make_shared<dist::DataParallel>(dist::ProcessGroup::create(job.launch, groupOptions, device),
                                                    config.dist.bucket_mb << 20);
    log->info("rank {} of {}: batch {} per rank, global batch {}", job.launch.rank, job.launch.worldSize,
              config.train.batch_size, config.train.batch_size * job.launch.worldSize);
  }
  log->info("device {}; LibTorch {}, CUDA {}, cuDNN {}; {} GPU(s) visible; {} intra-op threads", device.str(),
            torchVersion(), torchHasCuda() ? cudaBuildVersion() : "none (CPU build)",
            cudnnLoadedVersion().empty() ? "none" : cudnnLoadedVersion(), visibleGpus(), torch::get_num_threads());
  // cuDNN autotuning pays off for the fixed patch shape of training (design.md section 8:
  // and cuDNN 9.8-9.14 are the releases PyTorch turns off for 3D half-precision convolutions).
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  const bool float16 = config.amp.enabled && config.amp.dtype == "float16";
  if (float16 && !device.is_cuda()) {
    throw InputError("amp.dtype: float16 autocast needs a CUDA device (train.device resolved to cpu); use bfloat16 on CPU");
  }

  const DatasetManifest manifest = loadManifest(config.data);
  const LabelEncoding labelEncoding = resolveLabelEncoding(config.data, config.loss, manifest);
  // Label values of the dataset (the ignore label is no class), and the network's output
  // channels: one per region with regions, else one per class.
  const int numClasses = classCount(manifest, labelEncoding);
  const LabelValues labelValues(numClasses, labelEncoding.ignoreLabel);
  const int outChannels = labelEncoding.hasRegions() ? static_cast<int>(labelEncoding.regions.size()) : numClasses;
  const Split split = makeSplit(config.data, manifest);
  // With a split file, data.num_folds plays no part: name the file the fold indexes instead.
  const std::string foldText = config.data.split_file.empty()
                                   ? std::to_string(config.data.fold) + "/" + std::to_string(config.data.num_folds)
                                   : std::to_string(config.data.fold) + " of " + config.data.split_file;
  log->info("dataset '{}': {} training cases, fold {}: {} train, {} validation, {} classes", manifest.name,
            manifest.training.size(), foldText, split.train.size(), split.val.size(), numClasses);
  if (split.train.empty()) throw InputError("data.fold: fold " + std::to_string(config.data.fold) + " leaves no training cases");

  const int loadThreads = std::max(1u, std::thread::hardware_concurrency());
  auto trainCases = std::make_shared<const std::vector<LoadedCase>>(
      loadTrainingCases(config.data, manifest.training, split.train, labelValues, loadThreads));
  checkChannels(*trainCases, manifest);
  const std::string configYaml = toYaml(config);
  if (job.launch.rank == 0) {
    writeFileAtomically((outDir / "config.yaml").string(), configYaml);
    removeStaleCheckpointTemps(outDir.string());  // left by a SIGKILL mid-write
  }
  const PreprocessOptions preprocess = preprocessOptions(config.data, "data");
  const int64_t inChannels = trainCases->front().image.channels;

  PatchSamplerOptions samplerOptions;
  samplerOptions.patchZYX = toZYX(config.data.patch_size);
  samplerOptions.batchSize = config.train.batch_size;
  samplerOptions.foregroundFraction = config.data.foreground_fraction;
  samplerOptions.seed = config.train.seed;
  samplerOptions.augment.enabled = config.data.augment;
  samplerOptions.foregroundSampling = config.data.foreground_sampling == "lesion_uniform"
                                          ? ForegroundSampling::LesionUniform
                                          : ForegroundSampling::ClassVoxel;
  samplerOptions.labels = labelEncoding;
  samplerOptions.rank = job.launch.rank;
  samplerOptions.worldSize = job.launch.worldSize;
  auto trainSampler = std::make_shared<const PatchSampler>(trainCases, samplerOptions);

  std::shared_ptr<const PatchSampler> valSampler;
  std::shared_ptr<const std::vector<LoadedCase>> valCases;
  if (!split.val.empty() && (config.train.val_every > 0 || config.train.full_val_every > 0)) {
    valCases = std::make_shared<const std::vector<LoadedCase>>(loadCases(split.val, preprocess, labelValues, loadThreads));
    checkChannels(*valCases, manifest);
  }
  if (valCases && config.train.val_every > 0) {
    PatchSamplerOptions valOptions = samplerOptions;
    valOptions.augment.enabled = false;
    valOptions.seed = config.train.seed ^ 0x5EEDF00Dull;  // fixed validation patches across epochs
    valSampler = std::make_shared<const PatchSampler>(valCases, valOptions);
  }

  UNet model(makeUNetOptions(config.model, inChannels, outChannels));
  const auto divisors = model->sizeDivisors();  // z, y, x
  const auto patchZYX = toZYX(config.data.patch_size);
  for (int a = 0; a < 3; ++a) {
    if (patchZYX[a] % divisors[a] != 0) {
      throw InputError("data.patch_size: [" + std::to_string(config.data.patch_size[0]) + ", " +
                       std::to_string(config.data.patch_size[1]) + ", " + std::to_string(config.data.patch_size[2]) +
                       "] (x, y, z) must be a multiple of [" + std::to_string(divisors[2]) + ", " +
                       std::to_string(divisors[1]) + ", " + std::to_string(divisors[0]) +
                       "], the product of model.strides per axis, for a U-Net with " +
                       std::to_string(config.model.features.size()) + " stages");
    }
  }
  if (initialise) initialiseFrom(config, initSource, *model, outDir, job.launch.rank == 0);
  model->to(device);
  auto optimizer = makeOptimizer(config.train.optimizer, model);
  // Rank 0's initial weights reach every rank (Trainer::run broadcasts them); other
  // ranks then draw dropout masks from their own stream.
  if (job.launch.rank > 0) torch::manual_seed(config.train.seed + static_cast<uint64_t>(job.launch.rank));

  TrainerOptions options;
  options.epochs = config.train.epochs;
  options.iterationsPerEpoch = config.train.iterations_per_epoch;
  options.valEvery = config.train.val_every;
  options.valIterations = config.train.val_iterations;
  options.gradClip = config.train.grad_clip;
  options.loaderWorkers = config.data.num_workers;
  options.loaderDepth = config.data.queue_depth;
  options.outputDir = outDir.string();
  options.checkpointEveryMinutes = config.output.checkpoint_every_minutes;
  if (config.output.tensorboard) options.tensorboardDir = (outDir / "tensorboard").string();
  options.device = device;
  options.ampEnabled = config.amp.enabled;
  options.ampDtype = config.amp.dtype == "float16" ? c10::ScalarType::Half : c10::ScalarType::BFloat16;
  options.numClasses = outChannels;
  options.labels = labelEncoding;
  options.inChannels = inChannels;
  options.deepSupervision = config.model.deep_supervision;
  options.configYaml = configYaml;
  options.stopRequested = job.stopRequested;
  options.freezeEncoderEpochs = config.train.freeze_encoder_epochs;
  if (config.train.full_val_every > 0) {
    if (!valCases) {
      throw InputError("train.full_val_every: fold " + std::to_string(config.data.fold) +
                       " leaves no validation cases to run full-volume validation on");
    }
    FullVolumeValidationOptions full;
    full.window.patchZYX = patchZYX;
    full.window.overlap = config.eval.overlap;
    full.window.tileBatch = config.eval.tile_batch;
    full.window.mirror = config.eval.mirror_tta;
    full.window.device = device;
    full.numClasses = numClasses;
    full.encoding = labelEncoding;
    full.emptyRule = parseEmptyRule(config.eval.empty_rule);
    full.lesions.connectivity = config.eval.connectivity;
    full.lesions.sizeBinsMm3 = config.eval.size_bins;
    options.fullValEvery = config.train.full_val_every;
    options.selectBy = parseSelectBy(config.train.select_by);
    options.fullValidator = std::make_shared<const FullVolumeValidator>(valCases, full);
  }
  options.progress.terminal = job.progressTerminal && job.terminalOut != nullptr;
  options.progress.terminalOut = job.terminalOut;
  options.progress.plainOut = [log](const std::string& line) { log->info("{}", line); };
  options.parallel = parallel;
  // float16 has too little range for raw gradients: scale the loss (torch.amp defaults).
  options.scaler.enabled = float16;

  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  log->info("model: U-Net, {} stages, {:.2f} M parameters; loss {}; device {}", config.model.features.size(),
            parameters / 1e6, config.loss.name, device.str());

  Trainer trainer(model, TrainLoss(makeLossTerms(config.loss, labelEncoding), parallel ? parallel->statisticsReducer() : StatisticsReducer{}),
                  std::move(optimizer), makeSchedule(config.train), trainSampler,
                  valSampler, options);
  if (job.resume) trainer.resumeFrom(latest.string());
  const TrainSummary summary = trainer.run();
  if (parallel) {
    const auto& group = parallel->group();
    log->info("rank {}: {} collectives, {:.2f} s inside them ({})", group.rank(), group.collectiveCount(),
              group.collectiveSeconds(), group.backend());
  }
  return summary;
}

}  // namespace seg
