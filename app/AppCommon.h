#pragma once
// What the three executables share: exit-code policy, logging sinks, --version text.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace seg::app {

// Parses the command line. Returns -1 to go on, else the exit code to return:
// 0 after --help/--version, 2 for a usage error (message printed).
int parseCommandLine(CLI::App& cli, int argc, char** argv);

// Runs the tool body and maps exceptions to exit codes, printing one line to stderr:
//   InputError/ConfigError -> 2, "tool: error: ..."
//   IoError (disk full, I/O error while writing) -> 1, "tool: I/O error: ..."
//   c10::Error -> 1, "tool: internal error (LibTorch): <first line>" (the C++ backtrace
//     only at --log-level debug or trace)
//   any other exception -> 1, "tool: internal error: ..."
int runTool(const std::string& tool, const std::function<int()>& body);

// Console logging at the given level (trace|debug|info|warn|error); throws InputError
// for an unknown level.
// `tag` (e.g. "rank 1") is shown in every console line when not empty.
void setupConsoleLogging(const std::string& level, const std::string& tag = "");
// Adds a log file (appended) to every logger, in place of the one added before (if any).
void addLogFile(const std::string& path);

// Multi-line version text: tool, segtrain version, LibTorch, ITK, CUDA/cuDNN.
std::string versionText(const std::string& tool);

// Adds --version to `cli`, printing versionText(tool) and exiting 0.
void addVersionFlag(CLI::App& cli, const std::string& tool);

}  // namespace seg::app
