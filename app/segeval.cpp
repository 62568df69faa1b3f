// segeval: sliding-window inference; Dice, IoU, HD95, ASSD by class and case, lesion
// detection and lesion Dice by size (docs/evaluation.md).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "AppCommon.h"
#include "core/Error.h"
#include "eval/ReportTables.h"
#include "jobs/CrossValidation.h"
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

// --- segeval --cv (cross-validation and postprocessing).
std::vector<double> parseMinSizes(const std::string& text) {
  std::vector<double> sizes;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    double v = 0.0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || !(v > 0.0) || !std::isfinite(v)) {
      throw seg::InputError("--pp-min-sizes: expected comma-separated positive sizes in mm^3, got '" + text + "'");
    }
    sizes.push_back(v);
  }
  return sizes;
}

std::string scoreText(double v) {
  if (!std::isfinite(v)) return "nan";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.5f", v);
  return buffer;
}

int runCrossValidationTool(const seg::CrossValidationOptions& cv) {
  const seg::CrossValidationResult r = seg::runCrossValidation(cv);
  std::cout << "\ncross-validation: " << r.report.cases.size() << " cases from " << r.folds.size() << " folds\n"
            << seg::formatCaseTable(r.report) << "\n"
            << "Lesion detection by size\n" << seg::formatSizeBinTable(r.report) << "\n";
  if (r.postprocessed) {
    const seg::Postprocessing& pp = r.postprocessing;
    std::cout << "postprocessing (chosen by " << pp.criterion << "; applied only when it improves):\n";
    for (const auto& c : pp.candidates) {
      const int t = c.step.target;
      std::cout << "  " << (c.applied ? "[applied] " : "[no]      ") << seg::describeStep(c.step, r.report.encoding)
                << ": " << scoreText(t == 0 ? c.before.foreground : c.before.perClass[t - 1]) << " -> "
                << scoreText(t == 0 ? c.after.foreground : c.after.perClass[t - 1]) << "\n";
    }
    std::cout << "  " << pp.criterion << " per " << (r.report.encoding.hasRegions() ? "region" : "class")
              << " before -> after:";
    for (size_t k = 0; k < pp.before.perClass.size(); ++k) {
      std::cout << " " << k + 1 << ": " << scoreText(pp.before.perClass[k]) << " -> "
                << scoreText(pp.after.perClass[k]);
    }
    std::cout << "\n  written to " << cv.run << "/postprocessing.json; postprocessed predictions and report in "
              << cv.output << "/postprocessed/\n";
  }
  std::cout << "report: " << cv.output
            << "/{predictions/, cases.csv, lesions.csv, size_bins.csv, metrics.json, folds.csv, report.html}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{
      "segeval: predict held-out volumes with a checkpoint and/or score predictions against labels\n"
      "  segeval --checkpoint FILE [FILE...] --images PATH [--labels PATH] --output DIR [--member-scores]\n"
      "  segeval --predictions DIR --labels DIR --output DIR\n"
      "  segeval --cv RUN --output DIR [--cv-checkpoint best] [--select lesion] [--pp-min-sizes 10,100]"};
  seg::EvalJobOptions o;
  std::string emptyRule = "nan";
  std::string bins = "0,10,100,1000";
  int connectivity = 26;
  std::string logLevel = "info";
  std::string match = "any";
  std::string preset;
  bool noDistances = false;
  cli.add_option("--checkpoint", o.checkpoints,
                 "Checkpoint(s) written by segtrain (model mode); several = an ensemble: their softmax/sigmoid "
                 "probabilities averaged tile by tile (they must share channels, labels, patch and preprocessing)")
      ->expected(1, -1);
  cli.add_flag("--member-scores", o.memberScores,
               "Ensemble with --labels: also score each member alone (members.csv, a table and a report section)");
  cli.add_option("--postprocessing", o.postprocessing,
                 "Model mode: postprocessing.json to apply to the predictions (default: RUN/postprocessing.json "
                 "of segeval --cv, found next to the first checkpoint or in its parent folder)");
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
  // --- segeval --cv (cross-validation and postprocessing; docs/evaluation.md).
  seg::CrossValidationOptions cv;
  std::string ppMinSizes;
  cli.add_option("--cv", cv.run,
                 "Cross-validation: the run folder of segtrain --folds (RUN/fold_K/); predicts every fold's "
                 "validation cases with its model, scores them, chooses postprocessing and writes "
                 "RUN/postprocessing.json");
  cli.add_option("--cv-checkpoint", cv.checkpoint, "--cv: checkpoint of each fold: final or best (default final)")
      ->check(CLI::IsMember({"final", "best"}));
  cli.add_option("--select", cv.select,
                 "--cv: choose postprocessing by dice (mean Dice, nnU-Net's rule, default) or lesion "
                 "(pooled lesion F1)")
      ->check(CLI::IsMember({"dice", "lesion"}));
  cli.add_option("--pp-min-sizes", ppMinSizes,
                 "--cv: candidate minimum component sizes in mm^3 for 'remove small components' "
                 "(default: the --size-bins edges above 0)");
  CLI::Option* noPpOpt = cli.get_option_no_throw("--no-postprocessing");
  if (!noPpOpt) {
    noPpOpt = cli.add_flag("--no-postprocessing", o.noPostprocessing,
                           "Do not choose (--cv) or apply (model mode) postprocessing");
  }
  seg::app::addVersionFlag(cli, "segeval");
  if (const int rc = seg::app::parseCommandLine(cli, argc, argv); rc >= 0) return rc;

  return seg::app::runTool("segeval", [&]() -> int {
    seg::app::setupConsoleLogging(logLevel);
    if (!o.checkpoints.empty()) o.checkpoint = o.checkpoints.front();  // model mode
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
    if (!cv.run.empty()) {
      if (!o.checkpoint.empty() || !o.images.empty() || !o.predictions.empty() || !o.labels.empty()) {
        throw seg::InputError("--cv takes the cases and labels from the run's folds: drop --checkpoint, --images, "
                              "--predictions and --labels");
      }
      if (!o.postprocessing.empty()) {
        throw seg::InputError("--cv chooses postprocessing itself: drop --postprocessing (or add "
                              "--no-postprocessing to skip choosing it)");
      }
      seg::resolveDevice(o.device, "--device");
      cv.output = o.output;
      cv.emptyRule = o.emptyRule;
      cv.lesions = o.lesions;
      cv.surfaceDistances = o.surfaceDistances;
      cv.postprocessing = noPpOpt->count() == 0;
      if (!ppMinSizes.empty()) cv.ppMinSizesMm3 = parseMinSizes(ppMinSizes);
      cv.predictor.overlap = o.overlap;
      cv.predictor.tileBatch = o.tileBatch;
      cv.predictor.tileWorkers = o.tileWorkers;
      cv.predictor.mirror = o.mirror;
      cv.predictor.device = o.device;
      return runCrossValidationTool(cv);
    }
    std::vector<seg::ModelScores> members;
    const seg::EvalReport report = seg::runEvalJob(o, &members);
    if (report.cases.empty()) {
      std::cout << "predictions written to " << o.output << "/predictions (no labels: nothing scored)\n";
      return 0;
    }
    std::cout << (report.encoding.hasRegions() ? "\nDice per case and region\n" : "\nDice per case and class\n")
              << seg::formatCaseTable(report) << "\n";
    std::cout << "Lesion detection by size\n" << seg::formatSizeBinTable(report) << "\n";
    if (!members.empty()) {
      std::cout << "Ensemble members alone and the ensemble\n" << seg::formatMemberTable(members) << "\n";
      std::cout << "members: " << o.output << "/members.csv\n";
    }
    std::cout << "report: " << o.output << "/{cases.csv, lesions.csv, size_bins.csv, metrics.json, report.html}\n";
    return 0;
  });
}
