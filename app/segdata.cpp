// segdata: synthetic datasets, file inspection and dataset checks.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>
#include <string>

#include "AppCommon.h"
#include "core/Error.h"
#include "data/Dataset.h"
#include "data/DatasetCheck.h"
#include "data/Fingerprint.h"
#include "data/InspectReport.h"
#include "data/PlanReport.h"
#include "data/Synth.h"
#include "config/ConfigLoader.h"
#include "jobs/PlanConfig.h"

namespace {

int inspect(const std::string& file, bool asJson) {
  const seg::InspectReport report = seg::inspectImage(file);
  std::cout << (asJson ? seg::inspectJson(report) : seg::inspectText(report));
  if (!report.error.empty()) throw seg::InputError(report.error);
  return 0;
}

int check(const std::string& root) {
  const seg::DatasetManifest m = seg::loadDataset(root);
  const seg::DatasetCheck result = seg::checkDataset(m);
  for (const std::string& p : result.problems) std::cout << p << "\n";
  if (!result.problems.empty()) {
    std::cerr << "segdata: " << result.problems.size() << " problem(s) in " << root << "\n";
    return 2;
  }
  std::cout << m.name << ": " << m.training.size() << " training and " << m.test.size() << " test cases, "
            << m.channelNames.size() << " channel(s), " << m.numClasses() << " classes; " << result.casesChecked
            << " cases checked, no problems\n";
  return 0;
}

int plan(const std::string& root, bool asJson, const seg::PlanOptions& options) {
  const seg::PlanReport report = seg::planDataset(seg::loadDataset(root), options);
  std::cout << (asJson ? seg::planJson(report) : seg::planText(report));
  return 0;
}

// Planning to a GPU memory target (docs/planning.md): a preset alone implies its target
// (resenc_m 8, resenc_l 24, resenc_xl 40 GB; plain 8).
// With an nnU-Net dataset_fingerprint.json instead of a dataset, `classes` gives the number of
// classes (background included) the network outputs.
int planForMemory(const std::string& root, const std::string& nnunetFingerprint, int classes, bool asJson,
                  const std::string& preset, double gpuMemoryGb, const std::string& writeConfig) {
  seg::ExperimentPlanOptions options;
  options.preset = seg::parsePlanPreset(preset.empty() ? "plain" : preset);
  options.gpuMemoryGb = gpuMemoryGb > 0 ? gpuMemoryGb : seg::presetMemoryGb(options.preset);
  seg::DatasetManifest manifest;
  seg::PlanReport report;
  if (!nnunetFingerprint.empty()) {
    manifest.name = nnunetFingerprint;
    for (int c = 0; c < classes; ++c) manifest.labels[c] = c == 0 ? "background" : "class_" + std::to_string(c);
    report.manifest = manifest;
    report.fingerprint = seg::loadNnunetFingerprint(nnunetFingerprint);
    report.experiment = seg::planExperiment(report.fingerprint, static_cast<int64_t>(report.fingerprint.intensity.size()),
                                            classes, options);
    report.hasExperiment = true;
  } else {
    manifest = seg::loadDataset(root);
    report = seg::planDatasetForMemory(manifest, options);
  }
  std::cout << (asJson ? seg::planJson(report) : seg::planText(report));
  if (!writeConfig.empty()) {
    // From a fingerprint there is no dataset folder: the placeholder of the shipped configs.
    seg::writePlanConfig(report.experiment, root.empty() ? "/path/to/nnUNet_raw/DatasetXXX" : root,
                         manifest.channelNames, writeConfig);
    if (!asJson) std::cout << "wrote " << writeConfig << " (segtrain --config " << writeConfig << ")\n";
  }
  return 0;
}

// The memory model's estimate for a training config (docs/planning.md): what the config's
// network, patch and batch need, at the config's autocast dtype unless `fp32`.
int estimate(const std::string& configPath, const std::vector<std::string>& overrides, bool fp32) {
  const seg::TrainConfig c = seg::loadTrainConfig(configPath, overrides);
  int64_t channels = 1, classes = 2;
  if (!c.data.root.empty()) {
    const seg::DatasetManifest m = seg::loadDataset(c.data.root);
    channels = static_cast<int64_t>(std::max<size_t>(1, m.channelNames.size()));
    classes = m.numClasses();
  }
  const seg::NetworkSpec n = seg::networkFromConfig(c.model, channels, classes);
  seg::MemoryModelOptions o;
  o.activationBytes = (c.amp.enabled && !fp32) ? 2 : 4;
  const seg::MemoryEstimate e = seg::estimateTrainingMemory(n, c.data.patch_size, c.train.batch_size, o);
  const double mib = 1024.0 * 1024.0;
  nlohmann::ordered_json j{{"config", configPath},        {"model", n.name},
                           {"patch_size", c.data.patch_size}, {"batch_size", c.train.batch_size},
                           {"activation_bytes", o.activationBytes}, {"parameters", e.parameterCount},
                           {"activations_mib", e.activations / mib}, {"loss_mib", e.loss / mib},
                           {"parameters_mib", e.parameters / mib},   {"workspace_mib", e.workspace / mib},
                           {"total_mib", e.total() / mib}};
  std::cout << j.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"segdata: synthetic datasets, NIfTI inspection, dataset checks and plans"};
  seg::app::addVersionFlag(cli, "segdata");
  std::string logLevel = "info";
  cli.add_option("--log-level", logLevel, "trace|debug|info|warn|error|off")->capture_default_str();
  cli.require_subcommand(1);
  cli.fallthrough();  // --log-level is accepted after the subcommand too

  seg::SynthOptions synth;
  std::string synthOut;
  auto* synthCmd = cli.add_subcommand("synth", "Write a synthetic lesion dataset (nnU-Net v2 layout)");
  synthCmd->add_option("--out", synthOut, "Output folder (must not exist or be empty)")->required();
  synthCmd->add_option("--cases", synth.cases, "Total number of cases")->capture_default_str();
  synthCmd->add_option("--test-cases", synth.testCases, "Cases held out in imagesTs/labelsTs")->capture_default_str();
  synthCmd->add_option("--size", synth.size, "Volume size X Y Z (voxels)");
  synthCmd->add_option("--spacing", synth.spacing, "Voxel spacing X Y Z (mm)");
  synthCmd->add_option("--classes", synth.classes, "Foreground classes (1 or 2)")->capture_default_str();
  synthCmd->add_option("--seed", synth.seed, "Random seed")->capture_default_str();
  synthCmd->add_option("--min-lesions", synth.minLesions, "Fewest lesions per case")->capture_default_str();
  synthCmd->add_option("--max-lesions", synth.maxLesions, "Most lesions per case")->capture_default_str();
  synthCmd->add_option("--min-radius", synth.minRadius, "Smallest lesion radius (voxels)")->capture_default_str();
  synthCmd->add_option("--max-radius", synth.maxRadius, "Largest lesion radius (voxels)")->capture_default_str();
  synthCmd->add_flag("--regions", synth.regions,
                     "BraTS-like nested tumours in 2 channels, dataset.json with nnU-Net regions "
                     "(whole tumor [1,2,3], tumor core [2,3], enhancing tumor [3])");
  synthCmd->add_option("--ignore-fraction", synth.ignoreFraction,
                       "Share of 4-slice axial slabs left unannotated (ignore label = largest label + 1)")
      ->capture_default_str();

  std::string inspectFile;
  bool inspectJson = false;
  auto* inspectCmd = cli.add_subcommand("inspect", "Print a NIfTI file's header and value statistics");
  inspectCmd->add_option("file", inspectFile, "NIfTI file (.nii or .nii.gz)")->required();
  inspectCmd->add_flag("--json", inspectJson, "Print JSON");

  std::string planRoot;
  bool planJson = false;
  seg::PlanOptions planOptions;
  auto* planCmd = cli.add_subcommand("plan", "Dataset fingerprint and a suggested spacing, patch size and batch size; with --gpu-memory-gb or --preset also the topology, planned to that GPU memory (docs/planning.md)");
  std::string planNnunetFingerprint;
  int planClasses = 2;
  auto* rootOpt = planCmd->add_option("dataset", planRoot, "Dataset folder holding dataset.json");
  planCmd->add_flag("--json", planJson, "Print JSON");
  auto* nnfpOpt = planCmd->add_option("--nnunet-fingerprint", planNnunetFingerprint,
                                      "Plan from nnU-Net's dataset_fingerprint.json instead of a dataset folder");
  planCmd->add_option("--classes", planClasses, "With --nnunet-fingerprint: classes incl. background")
      ->check(CLI::Range(2, 255))
      ->capture_default_str();
  rootOpt->excludes(nnfpOpt);
  planCmd->add_option("--voxel-budget", planOptions.voxelBudget,
                      "Patch voxels that fit with batch 2 (default 128^3 = 2097152)")
      ->check(CLI::PositiveNumber);
  double planGpuGb = 0;
  std::string planPreset, planWriteConfig;
  auto* gpuOpt = planCmd->add_option("--gpu-memory-gb", planGpuGb,
                                     "Plan spacing, patch, batch and topology to this GPU memory (GB), nnU-Net style")
                     ->check(CLI::PositiveNumber);
  auto* presetOpt = planCmd->add_option("--preset", planPreset,
                                        "plain | resenc_m | resenc_l | resenc_xl (alone: its target, 8/8/24/40 GB)")
                        ->check(CLI::IsMember({"plain", "resenc_m", "resenc_l", "resenc_xl"}));
  auto* writeOpt = planCmd->add_option("--write-config", planWriteConfig,
                                       "Write a ready segtrain config of the plan (needs --gpu-memory-gb or --preset)");
  planCmd->get_option("--voxel-budget")->excludes(gpuOpt)->excludes(presetOpt);
  (void)writeOpt;

  std::string estimateConfig;
  std::vector<std::string> estimateSets;
  bool estimateFp32 = false;
  auto* estimateCmd = cli.add_subcommand("estimate", "The memory model's training-memory estimate for a segtrain config (JSON)");
  estimateCmd->add_option("--config", estimateConfig, "segtrain config (YAML)")->required();
  estimateCmd->add_option("--set", estimateSets, "key.path=value override, as segtrain --set");
  estimateCmd->add_flag("--fp32", estimateFp32, "Estimate fp32 activations even when amp.enabled (CPU runs)");

  std::string checkRoot;
  auto* checkCmd = cli.add_subcommand("check", "Check a dataset folder (dataset.json, headers, labels)");
  checkCmd->add_option("dataset", checkRoot, "Dataset folder holding dataset.json")->required();

  int rc = seg::app::parseCommandLine(cli, argc, argv);
  if (rc >= 0) return rc;
  return seg::app::runTool("segdata", [&]() -> int {
    seg::app::setupConsoleLogging(logLevel);
    if (*synthCmd) {
      seg::writeSynthDataset(synth, synthOut);
      std::cout << "wrote " << synth.cases << " cases to " << synthOut << "\n";
      return 0;
    }
    if (*inspectCmd) return inspect(inspectFile, inspectJson);
    if (*estimateCmd) return estimate(estimateConfig, estimateSets, estimateFp32);
    if (*planCmd) {
      if (planRoot.empty() && planNnunetFingerprint.empty()) {
        throw seg::InputError("plan: give a DATASET folder (or --nnunet-fingerprint FILE)");
      }
      if (!planNnunetFingerprint.empty() && planPreset.empty() && !(planGpuGb > 0)) {
        throw seg::InputError("--nnunet-fingerprint needs --gpu-memory-gb or --preset");
      }
      if (!planPreset.empty() || planGpuGb > 0) {
        return planForMemory(planRoot, planNnunetFingerprint, planClasses, planJson, planPreset, planGpuGb,
                             planWriteConfig);
      }
      if (!planWriteConfig.empty()) {
        throw seg::InputError("--write-config needs --gpu-memory-gb or --preset (the voxel-budget plan has no topology)");
      }
      return plan(planRoot, planJson, planOptions);
    }
    return check(checkRoot);
  });
}
