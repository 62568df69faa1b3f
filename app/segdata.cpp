// segdata: synthetic datasets, file inspection and dataset checks.
#include <iostream>
#include <string>

#include "AppCommon.h"
#include "core/Error.h"
#include "data/Dataset.h"
#include "data/DatasetCheck.h"
#include "data/Fingerprint.h"
#include "data/InspectReport.h"
#include "data/PlanReport.h"
#include "data/Synth.h"

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

  std::string inspectFile;
  bool inspectJson = false;
  auto* inspectCmd = cli.add_subcommand("inspect", "Print a NIfTI file's header and value statistics");
  inspectCmd->add_option("file", inspectFile, "NIfTI file (.nii or .nii.gz)")->required();
  inspectCmd->add_flag("--json", inspectJson, "Print JSON");

  std::string planRoot;
  bool planJson = false;
  seg::PlanOptions planOptions;
  auto* planCmd = cli.add_subcommand("plan", "Dataset fingerprint and a suggested spacing, patch size and batch size");
  planCmd->add_option("dataset", planRoot, "Dataset folder holding dataset.json")->required();
  planCmd->add_flag("--json", planJson, "Print JSON");
  planCmd->add_option("--voxel-budget", planOptions.voxelBudget,
                      "Patch voxels that fit with batch 2 (default 128^3 = 2097152)")
      ->check(CLI::PositiveNumber);

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
    if (*planCmd) return plan(planRoot, planJson, planOptions);
    return check(checkRoot);
  });
}
