// segtrain: train a 3D U-Net from a YAML config.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "AppCommon.h"
#include "config/ConfigLoader.h"
#include "core/Error.h"
#include "core/Log.h"
#include "core/AtomicFile.h"
#include "jobs/Export.h"
#include "jobs/FoldRunner.h"
#include "jobs/TrainJob.h"
#include "train/dist/LaunchEnv.h"
#include "train/dist/LocalLauncher.h"

namespace {

// Set by SIGTERM/SIGINT/SIGUSR1 (Slurm sends USR1 ahead of preemption with
// --signal=USR1@90): the trainer checkpoints after the current iteration and stops.
std::atomic<bool> stopRequested{false};
volatile std::sig_atomic_t stopSignal = 0;

void onStopSignal(int signal) {
  // A second signal means "now": leave without a checkpoint (the previous one stays intact).
  if (stopRequested.load()) std::_Exit(128 + signal);
  stopSignal = signal;
  stopRequested.store(true);
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  CLI::App cli{"segtrain: train a 3D U-Net segmentation model (Dice, Dice+CE, Generalized Dice losses)"};
  std::string configPath;
  std::vector<std::string> overrides;
  std::string outputDir;
  bool resume = false;
  bool printConfig = false;
  std::string logLevel;
  int nproc = 0;
  std::string foldList;
  cli.add_option("--config,-c", configPath, "YAML config file (with --resume: defaults to <output>/config.yaml)");
  cli.add_option("--set", overrides, "Override a config key: --set train.epochs=5 (repeatable)");
  cli.add_option("--output,-o", outputDir, "Run directory (overrides output.dir)");
  cli.add_flag("--resume", resume, "Continue the run in the output directory from checkpoint_latest.pt");
  cli.add_flag("--print-config", printConfig, "Print the resolved config (all defaults filled) and exit");
  cli.add_option("--log-level", logLevel, "Console log level: trace, debug, info, warn, error (default: output.log_level)");
  cli.add_option("--nproc", nproc,
                 "Start N training processes on this machine (one per GPU with NCCL, or CPU processes with "
                 "Gloo), each with train.batch_size patches, and supervise them (docs/distributed.md)")
      ->check(CLI::Range(1, 1024));
  cli.add_option("--folds", foldList,
                 "Train these folds of the split one after another, fold K in <output>/fold_K: 'all' "
                 "(data.num_folds, or the folds of data.split_file) or a list such as '0,2'; with --resume, "
                 "finished folds are skipped (docs/training.md)");
  seg::app::addVersionFlag(cli, "segtrain");
  auto* exportCmd = cli.add_subcommand(
      "export",
      "Write a checkpoint's weights as a dict Python's torch.load reads, or with --torchscript the network as a "
      "TorchScript module torch.jit.load runs (docs/deployment.md)");
  std::string exportCheckpoint, exportOut, exportCheckIo;
  bool exportTorchScript = false;
  exportCmd->add_option("--checkpoint", exportCheckpoint, "Checkpoint written by segtrain")->required();
  exportCmd->add_option("--out", exportOut, "Output file (e.g. weights.pt, model.pt)")->required();
  exportCmd->add_flag("--torchscript", exportTorchScript,
                      "Write a TorchScript module (input (B, C, Z, Y, X) float32, output logits) with the run's "
                      "preprocessing metadata in segtrain.json / attribute segtrain_metadata");
  exportCmd
      ->add_option("--check-io", exportCheckIo,
                   "With --torchscript: also write {\"input\": x, \"logits\": y} (torch.load) for a fixed random "
                   "patch-sized x, y from segtrain's own forward, to check a serving setup against")
      ->needs(exportCmd->get_option("--torchscript"));
  if (const int rc = seg::app::parseCommandLine(cli, argc, argv); rc >= 0) return rc;

  if (exportCmd->parsed()) {
    return seg::app::runTool("segtrain", [&]() -> int {
      if (exportTorchScript) {
        seg::TorchScriptExportOptions options;
        options.checkIoPath = exportCheckIo;
        seg::exportTorchScript(exportCheckpoint, exportOut, options);
        if (!exportCheckIo.empty()) std::cout << "wrote " << exportCheckIo << "\n";
      } else {
        seg::exportWeights(exportCheckpoint, exportOut);
      }
      std::cout << "wrote " << exportOut << "\n";
      return 0;
    });
  }

  // Which rank this process is (torchrun-style or Slurm environment); errors surface
  // through runTool below.
  seg::dist::LaunchEnv launch;
  std::string launchError;
  try {
    launch = seg::dist::launchEnvFromEnvironment();
  } catch (const std::exception& e) {
    launchError = e.what();
  }
  const std::string tool = launch.distributed() ? "segtrain[rank " + std::to_string(launch.rank) + "]" : "segtrain";
  return seg::app::runTool(tool, [&]() -> int {
    if (!launchError.empty()) throw seg::InputError(launchError);
    // Single-quoted YAML so a path with ':' or '#' stays a string ('' escapes a quote).
    const auto quotedPath = [](const std::string& path) {
      std::string quoted;
      for (char ch : path) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
      return "'" + quoted + "'";
    };
    if (!outputDir.empty()) overrides.push_back("output.dir=" + quotedPath(outputDir));
    if (configPath.empty()) {
      if (!resume || outputDir.empty()) throw seg::InputError("--config is required (or --resume with --output DIR)");
      // With --folds, <output>/config.yaml is the config every fold started from.
      configPath = (fs::path(outputDir) / "config.yaml").string();
    }
    const seg::TrainConfig config = seg::loadTrainConfig(configPath, overrides);
    const std::string resolved = seg::toYaml(config);
    if (printConfig) {
      std::cout << resolved;
      return 0;
    }
    std::string level = logLevel.empty() ? config.output.log_level : logLevel;
    // A GPU that is not there is a usage error before any directory or rank exists.
    seg::resolveTrainDevice(config);
    // Before the launcher: a bad fold list is a usage error of this process, not of N ranks.
    std::vector<int> folds;
    int numFolds = 0;
    if (!foldList.empty()) {
      numFolds = seg::foldCount(config.data);
      folds = seg::parseFoldList(foldList, numFolds);
    }
    if (nproc > 1) {
      if (launch.distributed()) {
        throw seg::InputError("--nproc: this process is already rank " + std::to_string(launch.rank) + " of " +
                              std::to_string(launch.worldSize) + " (" + launch.source +
                              " environment); drop --nproc or the launcher");
      }
      seg::app::setupConsoleLogging(level);
      seg::dist::LocalLaunchOptions launcher;
      launcher.nproc = nproc;
      launcher.executable = fs::read_symlink("/proc/self/exe").string();
      // Every rank walks the same --folds list.
      launcher.args = seg::dist::withoutOption(std::vector<std::string>(argv + 1, argv + argc), "--nproc");
      return seg::dist::launchLocal(launcher);
    }
    // Only rank 0 writes the log file and reports progress; the others show warnings.
    const bool mainRank = launch.rank == 0;
    if (!mainRank && spdlog::level::from_str(level) < spdlog::level::warn) level = "warn";
    seg::app::setupConsoleLogging(level, launch.distributed() ? "rank " + std::to_string(launch.rank) : "");
    for (int signal : {SIGTERM, SIGINT, SIGUSR1}) std::signal(signal, onStopSignal);

    // One training run into run.output.dir; 0, or 128 + signal when it was stopped.
    const auto train = [&](const seg::TrainConfig& run, bool resumeRun, const std::string& source) -> int {
      std::error_code ec;
      fs::create_directories(run.output.dir, ec);
      if (ec) throw seg::InputError("cannot create output directory '" + run.output.dir + "': " + ec.message());
      if (mainRank) seg::app::addLogFile((fs::path(run.output.dir) / "train.log").string());
      spdlog::info("segtrain: config {} -> {}", source, run.output.dir);
      seg::TrainJobOptions job;
      job.resume = resumeRun;
      job.stopRequested = &stopRequested;
      // The in-place status line only on a terminal; files and pipes get plain log lines.
      job.progressTerminal = ::isatty(STDERR_FILENO) == 1 && mainRank;
      job.terminalOut = &std::cerr;
      job.launch = launch;
      const seg::TrainSummary summary = seg::runTrainJob(run, job);
      if (summary.stopped) {
        // A rank that stopped because another rank was signalled reports SIGTERM.
        const int signal = stopSignal != 0 ? static_cast<int>(stopSignal) : SIGTERM;
        spdlog::warn("stopped by signal {} after iteration {}: resume with segtrain --output {} {}--resume{}", signal,
                     summary.iterations, foldList.empty() ? run.output.dir : config.output.dir,
                     foldList.empty() ? "" : "--folds " + foldList + " ",
                     launch.distributed() ? " (same number of ranks)" : "");
        return 128 + signal;  // the shell's convention for "ended by signal N"
      }
      if (summary.skippedSteps > 0) spdlog::info("{} steps skipped for non-finite gradients", summary.skippedSteps);
      spdlog::info("done: {} epochs, {} iterations, last train loss {:.4f}, best EMA pseudo-Dice {:.4f}",
                   summary.epochs, summary.iterations, summary.lastTrainLoss, summary.bestEmaDice);
      spdlog::info("checkpoints in {}", run.output.dir);
      return 0;
    };
    if (foldList.empty()) return train(config, resume, configPath);

    // --folds: fold K trains into <output.dir>/fold_K with data.fold = K, one after another
    // (nnU-Net's layout). With --resume, finished folds are skipped, a started one resumes
    // and the others start; without it, a fold folder that holds a run is refused (TrainJob).
    const std::string runDir = config.output.dir;
    if (!resume) {
      // Refused before anything is written, RUN/config.yaml included.
      for (int fold : folds) {
        if (seg::foldState(seg::foldDir(runDir, fold)) != seg::FoldState::Pending) {
          throw seg::InputError("--folds: " + seg::foldDir(runDir, fold) +
                                " already holds a run: pass --resume to continue the folds or choose another --output");
        }
      }
    }
    if (mainRank) {
      std::error_code ec;
      fs::create_directories(runDir, ec);
      if (ec) throw seg::InputError("cannot create output directory '" + runDir + "': " + ec.message());
      if (!resume || !fs::exists(fs::path(runDir) / "config.yaml")) {
        seg::writeFileAtomically((fs::path(runDir) / "config.yaml").string(), resolved);
      }
      seg::writeFoldSummary(runDir, numFolds);
    }
    for (size_t i = 0; i < folds.size(); ++i) {
      const int fold = folds[i];
      const std::string dir = seg::foldDir(runDir, fold);
      const seg::FoldState state = seg::foldState(dir);
      if (resume && state == seg::FoldState::Done) {
        spdlog::info("fold {}: done ({}/checkpoint_final.pt), skipped", fold, dir);
        continue;
      }
      std::vector<std::string> foldOverrides = overrides;
      foldOverrides.push_back("data.fold=" + std::to_string(fold));
      foldOverrides.push_back("output.dir=" + quotedPath(dir));
      const seg::TrainConfig run = seg::loadTrainConfig(configPath, foldOverrides);
      spdlog::info("fold {} of {} ({} of {} listed) -> {}", fold, numFolds,
                   i + 1, folds.size(), dir);
      const int rc = train(run, resume && state == seg::FoldState::Started, configPath + " with data.fold=" + std::to_string(fold));
      if (mainRank) seg::writeFoldSummary(runDir, numFolds);
      if (rc != 0) return rc;
    }
    spdlog::info("folds {} done in {} (folds.json; segeval --cv {} scores them)", foldList, runDir, runDir);
    return 0;
  });
}
