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
#include "jobs/Export.h"
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
  seg::app::addVersionFlag(cli, "segtrain");
  auto* exportCmd = cli.add_subcommand("export", "Write a checkpoint's weights as a dict Python's torch.load reads");
  std::string exportCheckpoint, exportOut;
  exportCmd->add_option("--checkpoint", exportCheckpoint, "Checkpoint written by segtrain")->required();
  exportCmd->add_option("--out", exportOut, "Output file (e.g. weights.pt)")->required();
  if (const int rc = seg::app::parseCommandLine(cli, argc, argv); rc >= 0) return rc;

  if (exportCmd->parsed()) {
    return seg::app::runTool("segtrain", [&]() -> int {
      seg::exportWeights(exportCheckpoint, exportOut);
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
    if (!outputDir.empty()) {
      // Single-quoted YAML so a path with ':' or '#' stays a string ('' escapes a quote).
      std::string quoted;
      for (char ch : outputDir) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
      overrides.push_back("output.dir='" + quoted + "'");
    }
    if (configPath.empty()) {
      if (!resume || outputDir.empty()) throw seg::InputError("--config is required (or --resume with --output DIR)");
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
      launcher.args = seg::dist::withoutOption(std::vector<std::string>(argv + 1, argv + argc), "--nproc");
      return seg::dist::launchLocal(launcher);
    }
    // Only rank 0 writes the log file and reports progress; the others show warnings.
    const bool mainRank = launch.rank == 0;
    if (!mainRank && spdlog::level::from_str(level) < spdlog::level::warn) level = "warn";
    seg::app::setupConsoleLogging(level, launch.distributed() ? "rank " + std::to_string(launch.rank) : "");
    std::error_code ec;
    fs::create_directories(config.output.dir, ec);
    if (ec) throw seg::InputError("cannot create output directory '" + config.output.dir + "': " + ec.message());
    if (mainRank) seg::app::addLogFile((fs::path(config.output.dir) / "train.log").string());
    spdlog::info("segtrain: config {} -> {}", configPath, config.output.dir);

    seg::TrainJobOptions job;
    job.resume = resume;
    job.stopRequested = &stopRequested;
    // The in-place status line only on a terminal; files and pipes get plain log lines.
    job.progressTerminal = ::isatty(STDERR_FILENO) == 1 && mainRank;
    job.terminalOut = &std::cerr;
    job.launch = launch;
    for (int signal : {SIGTERM, SIGINT, SIGUSR1}) std::signal(signal, onStopSignal);
    const seg::TrainSummary summary = seg::runTrainJob(config, job);
    if (summary.stopped) {
      // A rank that stopped because another rank was signalled reports SIGTERM.
      const int signal = stopSignal != 0 ? static_cast<int>(stopSignal) : SIGTERM;
      spdlog::warn("stopped by signal {} after iteration {}: resume with segtrain --output {} --resume{}", signal,
                   summary.iterations, config.output.dir,
                   launch.distributed() ? " (same number of ranks)" : "");
      return 128 + signal;  // the shell's convention for "ended by signal N"
    }
    if (summary.skippedSteps > 0) spdlog::info("{} steps skipped for non-finite gradients", summary.skippedSteps);
    spdlog::info("done: {} epochs, {} iterations, last train loss {:.4f}, best EMA pseudo-Dice {:.4f}",
                 summary.epochs, summary.iterations, summary.lastTrainLoss, summary.bestEmaDice);
    spdlog::info("checkpoints in {}", config.output.dir);
    return 0;
  });
}
