// segeval: sliding-window inference; Dice, IoU, HD95, ASSD by class and case, lesion
// detection and lesion Dice by size (docs/evaluation.md).
#include <filesystem>
#include <iostream>
#include <sstream>

#include "AppCommon.h"
#include "core/Error.h"
#include "eval/ReportTables.h"
#include "jobs/EvalJob.h"
#include "jobs/Factories.h"

namespace {

std::vector<double> parseBins(const std::string& text) {
  std::vector<double> bins;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      bins.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw seg::InputError("--size-bins: expected comma-separated numbers in mm^3, got '" + text + "'");
    }
  }
  return bins;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{
      "segeval: predict held-out volumes with a checkpoint and/or score predictions against labels\n"
      "  segeval --checkpoint FILE --images PATH [--labels PATH] --output DIR\n"
      "  segeval --predictions DIR --labels DIR --output DIR"};
  seg::EvalJobOptions o;
  std::string emptyRule = "nan";
  std::string bins = "0,10,100,1000";
  int connectivity = 26;
  std::string logLevel = "info";
  std::string match = "any";
  std::string preset;
  bool noDistances = false;
  cli.add_option("--checkpoint", o.checkpoint, "Checkpoint written by segtrain (model mode)");
  cli.add_option("--images", o.images, "Image folder (nnU-Net imagesTs, <case>_0000.nii.gz) or one file");
  cli.add_option("--predictions", o.predictions, "Folder of predicted label maps (metrics-only mode)");
  cli.add_option("--labels", o.labels, "Reference label folder (<case>.nii.gz) or one file");
  cli.add_option("--output,-o", o.output, "Output folder (predictions/ and report files)")->required();
  auto* emptyOpt = cli.add_option("--empty-rule", emptyRule,
                                  "Dice when reference and prediction are both empty: nan, one, zero "
                                  "(default nan; one with --preset brats2023)")
                       ->check(CLI::IsMember({"nan", "one", "zero"}));
  cli.add_option("--size-bins", bins, "Lesion-size bin lower edges in mm^3 (last bin open)");
  auto* connOpt = cli.add_option("--connectivity", connectivity, "Lesion connectivity: 6, 18 or 26")
                      ->check(CLI::IsMember({6, 18, 26}));
  auto* matchOpt = cli.add_option("--match", match,
                                  "Lesion matching: any (any overlap, default) or iou:T (IoU >= T)");
  cli.add_option("--preset", preset,
                 "brats2023: BraTS 2023 lesion-wise rules (26-connected, reference dilated 3x, "
                 "lesions <= 50 mm^3 not scored, empty rule one); explicit options override")
      ->check(CLI::IsMember({"brats2023"}));
  cli.add_option("--num-classes", o.numClasses,
                 "Classes incl. background (metrics-only; default: dataset.json next to or above "
                 "the labels, else largest label + 1)")
      ->check(CLI::Range(2, 256));
  cli.add_option("--regions", o.regions,
                 "Score regions instead of classes (metrics-only; default: the regions of the dataset.json "
                 "next to or above the labels): 'whole tumor=1,2,3;tumor core=2,3;enhancing tumor=3'");
  cli.add_option("--ignore-label", o.ignoreLabel,
                 "Label value of unannotated reference voxels, left out of every metric; -1 = none "
                 "(default: the checkpoint's, else dataset.json's \"ignore\" label)")
      ->check(CLI::Range(-1, 255));
  cli.add_flag("--no-distances", noDistances, "Skip HD95/ASSD (faster on large volumes)");
  cli.add_flag("--save-probabilities", o.saveProbabilities,
               "Also write probabilities/<case>_class<c>.nii.gz (float32, one per foreground class; "
               "_region<r> per region with regions)");
  cli.add_option("--overlap", o.overlap, "Sliding-window overlap in [0, 1) (default: eval.overlap of the run)");
  cli.add_option("--tile-batch", o.tileBatch, "Tiles per forward pass (default: eval.tile_batch of the run)");
  cli.add_option("--tile-workers", o.tileWorkers,
                 "CPU threads running tiles in parallel; 0 = auto (default: eval.tile_workers of the run)")
      ->check(CLI::NonNegativeNumber);
  cli.add_flag("--mirror", o.mirror, "Mirror test-time augmentation (8 flips)");
  cli.add_option("--device", o.device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cli.add_option("--log-level", logLevel, "Console log level");
  seg::app::addVersionFlag(cli, "segeval");
  if (const int rc = seg::app::parseCommandLine(cli, argc, argv); rc >= 0) return rc;

  return seg::app::runTool("segeval", [&]() -> int {
    seg::app::setupConsoleLogging(logLevel);
    // A GPU that is not there is a usage error before the output folder exists.
    if (!o.checkpoint.empty()) seg::resolveDevice(o.device, "--device");
    std::error_code ec;
    std::filesystem::create_directories(o.output, ec);
    if (ec) throw seg::InputError("cannot create output directory '" + o.output + "': " + ec.message());
    seg::app::addLogFile((std::filesystem::path(o.output) / "eval.log").string());
    if (preset == "brats2023") {
      o.lesions = seg::bratsPreset();
      if (emptyOpt->count() == 0) emptyRule = "one";  // BraTS scores an empty-empty case 1
    }
    o.emptyRule = seg::parseEmptyRule(emptyRule);
    if (preset.empty() || connOpt->count() > 0) o.lesions.connectivity = connectivity;
    if (preset.empty() || matchOpt->count() > 0) seg::parseMatchRule(match, o.lesions);
    o.lesions.sizeBinsMm3 = parseBins(bins);
    o.surfaceDistances = !noDistances;
    if (o.overlap >= 1.0) throw seg::InputError("--overlap must be in [0, 1), got " + std::to_string(o.overlap));
    const seg::EvalReport report = seg::runEvalJob(o);
    if (report.cases.empty()) {
      std::cout << "predictions written to " << o.output << "/predictions (no labels: nothing scored)\n";
      return 0;
    }
    std::cout << (report.encoding.hasRegions() ? "\nDice per case and region\n" : "\nDice per case and class\n")
              << seg::formatCaseTable(report) << "\n";
    std::cout << "Lesion detection by size\n" << seg::formatSizeBinTable(report) << "\n";
    std::cout << "report: " << o.output << "/{cases.csv, lesions.csv, size_bins.csv, metrics.json, report.html}\n";
    return 0;
  });
}
