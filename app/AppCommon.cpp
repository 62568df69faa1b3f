#include "AppCommon.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <c10/util/Exception.h>

#include <iostream>

#include "core/Error.h"
#include "core/IoError.h"
#include "core/TorchInfo.h"
#include "train/dist/CollectiveBackends.h"
#include "core/Version.h"

namespace seg::app {
namespace {

std::shared_ptr<spdlog::sinks::dist_sink_mt>& sharedSink() {
  static std::shared_ptr<spdlog::sinks::dist_sink_mt> sink;
  return sink;
}

struct VersionRequested {};

}  // namespace

int parseCommandLine(CLI::App& cli, int argc, char** argv) {
  try {
    cli.parse(argc, argv);
  } catch (const VersionRequested&) {
    return 0;
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    cli.exit(e);  // prints the message and the usage hint
    return 2;
  }
  return -1;
}

int runTool(const std::string& tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const InputError& e) {
    spdlog::default_logger()->flush();
    std::cerr << tool << ": error: " << e.what() << "\n";
    return 2;
  } catch (const IoError& e) {
    spdlog::default_logger()->flush();
    std::cerr << tool << ": I/O error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    // LibTorch's what() carries a C++ backtrace of dozens of frames: one line for users,
    // the whole text with --log-level debug (or trace).
    spdlog::default_logger()->flush();
    if (spdlog::default_logger()->should_log(spdlog::level::debug)) {
      std::cerr << tool << ": internal error (LibTorch): " << e.what() << "\n";
    } else {
      std::string message = e.what_without_backtrace();
      message = message.substr(0, message.find('\n'));
      std::cerr << tool << ": internal error (LibTorch): " << message
                << " (--log-level debug prints the C++ backtrace)\n";
    }
    return 1;
  } catch (const std::exception& e) {
    spdlog::default_logger()->flush();
    std::cerr << tool << ": internal error: " << e.what() << "\n";
    return 1;
  }
}

void setupConsoleLogging(const std::string& level, const std::string& tag) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    throw InputError("unknown log level '" + level + "' (expected trace, debug, info, warn, error, off)");
  }
  auto dist = std::make_shared<spdlog::sinks::dist_sink_mt>();
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_pattern(tag.empty() ? "[%H:%M:%S] [%n] %^%l%$: %v" : "[%H:%M:%S] [" + tag + "] [%n] %^%l%$: %v");
  console->set_level(parsed);
  dist->add_sink(console);
  sharedSink() = dist;
  // Loggers pass at least info so the run's log file is complete whatever the
  // console shows; each sink filters to its own level.
  const auto loggerLevel = std::min(parsed, spdlog::level::info);
  auto main = std::make_shared<spdlog::logger>("seg", dist);
  main->set_level(loggerLevel);
  // Flush every info line so `tail -f train.log` follows a run and a killed run keeps its log.
  main->flush_on(spdlog::level::info);
  spdlog::set_default_logger(main);
  spdlog::set_level(loggerLevel);
}

void addLogFile(const std::string& path) {
  if (!sharedSink()) setupConsoleLogging("info");
  // One log file at a time: segtrain --folds moves on to each fold's train.log.
  static std::shared_ptr<spdlog::sinks::sink> current;
  try {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
    file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] %l: %v");
    file->set_level(spdlog::level::info);
    if (current) sharedSink()->remove_sink(current);
    sharedSink()->add_sink(file);
    current = file;
  } catch (const spdlog::spdlog_ex& e) {
    throw InputError("cannot open log file '" + path + "': " + e.what());
  }
}

std::string versionText(const std::string& tool) {
  std::string text = tool + " " + versionString() + "\n";
  text += "  LibTorch " + torchVersion() + (torchHasCuda() ? " (CUDA build)" : " (CPU build)") + "\n";
  text += "  ITK " + itkVersionString() + "\n";
  if (torchHasCuda()) {
    text += "  CUDA " + cudaBuildVersion() + " (built with)\n";
    const std::string cudnn = cudnnBuildVersion();
    text += "  cuDNN " + (cudnn.empty() ? std::string("none") : cudnn + " (built with; loaded " + cudnnLoadedVersion() + ")") + "\n";
  } else {
    text += "  CUDA none\n  cuDNN none\n";
  }
  const std::string nccl = dist::ncclHeaderVersion();
  text += "  NCCL " + (nccl.empty() ? std::string("none")
                                   : nccl + " (nccl.h; LibTorch built with " + dist::ncclTorchBuildVersion() +
                                         "; loaded " + dist::ncclLibraryVersion() + ")") +
          "\n";
  text += "  Gloo " + std::string(dist::glooBuilt() ? "yes" : "no") + "\n";
  const int gpus = visibleGpus();
  text += "  GPUs " + (gpus > 0 ? std::to_string(gpus) + " visible" : std::string("none visible")) + "\n";
  return text;
}

void addVersionFlag(CLI::App& cli, const std::string& tool) {
  cli.add_flag_callback(
      "--version",
      [tool]() {
        std::cout << versionText(tool);
        throw VersionRequested{};
      },
      "Print versions (segtrain, LibTorch, ITK, CUDA/cuDNN) and exit");
}

}  // namespace seg::app
