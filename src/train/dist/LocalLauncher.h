#pragma once
// `segtrain --nproc N`: starts N copies of a program on this machine as ranks
// 0..N-1 of one run (torchrun-style environment: RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT) and supervises them:
// - SIGTERM, SIGINT and SIGUSR1 sent to the launcher are forwarded once to every rank
//   (the ranks run in their own process group, so a terminal's Ctrl-C reaches them
//   only through the launcher and never twice);
// - a rank that fails (exit code other than 0 or the orderly-stop codes 128+TERM/INT/
//   USR1, or death by a signal) makes the launcher stop the others: SIGTERM, then
//   SIGKILL after `graceSeconds`; the launcher then exits non-zero;
// - the ranks get SIGTERM if the launcher itself dies (PR_SET_PDEATHSIG).
// POSIX (Linux) only.
#include <string>
#include <vector>

namespace seg::dist {

struct LocalLaunchOptions {
  int nproc = 2;
  std::string executable;         // absolute path of the program (e.g. /proc/self/exe resolved)
  std::vector<std::string> args;  // arguments after argv[0]
  int masterPort = 0;             // 0: MASTER_PORT from the environment, else a free port
  double graceSeconds = 10.0;
};

// Runs the ranks to completion. Returns 0 when all exit 0; the exit code of the first
// failed rank (128+N when killed by signal N) when one fails; else the orderly-stop
// code the ranks returned (e.g. 138 after a forwarded SIGUSR1).
int launchLocal(const LocalLaunchOptions& options);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0).
int findFreePort();

// The command line without `--nproc N` / `--nproc=N`.
std::vector<std::string> withoutOption(const std::vector<std::string>& args, const std::string& option);

}  // namespace seg::dist
