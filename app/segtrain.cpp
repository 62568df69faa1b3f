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
#include "train/Export.h"
#include "train/TrainJob.h"

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
  cli.add_option("--config,-c", configPath, "YAML config file (with --resume: defaults to <output>/config.yaml)");
  cli.add_option("--set", overrides, "Override a config key: --set train.epochs=5 (repeatable)");
  cli.add_option("--output,-o", outputDir, "Run directory (overrides output.dir)");
  cli.add_flag("--resume", resume, "Continue the run in the output directory from checkpoint_latest.pt");
  cli.add_flag("--print-config", printConfig, "Print the resolved config (all defaults filled) and exit");
  cli.add_option("--log-level", logLevel, "Console log level: trace, debug, info, warn, error (default: output.log_level)");
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

  return seg::app::runTool("segtrain", [&]() -> int {
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
    seg::app::setupConsoleLogging(logLevel.empty() ? config.output.log_level : logLevel);
    std::error_code ec;
    fs::create_directories(config.output.dir, ec);
    if (ec) throw seg::InputError("cannot create output directory '" + config.output.dir + "': " + ec.message());
    seg::app::addLogFile((fs::path(config.output.dir) / "train.log").string());
    spdlog::info("segtrain: config {} -> {}", configPath, config.output.dir);

    seg::TrainJobOptions job;
    job.resume = resume;
    job.stopRequested = &stopRequested;
    // The in-place status line only on a terminal; files and pipes get plain log lines.
    job.progressTerminal = ::isatty(STDERR_FILENO) == 1;
    job.terminalOut = &std::cerr;
    for (int signal : {SIGTERM, SIGINT, SIGUSR1}) std::signal(signal, onStopSignal);
    const seg::TrainSummary summary = seg::runTrainJob(config, job);
    if (summary.stopped) {
      spdlog::warn("stopped by signal {} after iteration {}: resume with segtrain --output {} --resume",
                   static_cast<int>(stopSignal), summary.iterations, config.output.dir);
      return 128 + static_cast<int>(stopSignal);  // the shell's convention for "ended by signal N"
    }
    if (summary.skippedSteps > 0) spdlog::info("{} steps skipped for non-finite gradients", summary.skippedSteps);
    spdlog::info("done: {} epochs, {} iterations, last train loss {:.4f}, best EMA pseudo-Dice {:.4f}",
                 summary.epochs, summary.iterations, summary.lastTrainLoss, summary.bestEmaDice);
    spdlog::info("checkpoints in {}", config.output.dir);
    return 0;
  });
}
