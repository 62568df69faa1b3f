#include "train/dist/LocalLauncher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/Error.h"
#include "core/Log.h"

namespace seg::dist {

namespace {

using Clock = std::chrono::steady_clock;

bool isOrderlyStop(int code) { return code == 128 + SIGTERM || code == 128 + SIGINT || code == 128 + SIGUSR1; }

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                  strsignal(WTERMSIG(status)) + ")";
  return "ended with status " + std::to_string(status);
}

int exitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int findFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw InternalError(std::string("launcher: socket(): ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw InternalError("launcher: cannot find a free port: " + why);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::vector<std::string> withoutOption(const std::vector<std::string>& args, const std::string& option) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == option) {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind(option + "=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

int launchLocal(const LocalLaunchOptions& options) {
  auto log = logger("dist");
  if (options.nproc < 1) throw InputError("--nproc: expected at least 1 process, got " + std::to_string(options.nproc));
  int port = options.masterPort;
  if (port == 0) {
    const char* env = std::getenv("MASTER_PORT");
    port = env && *env ? std::atoi(env) : findFreePort();
    if (port <= 0 || port > 65535) throw InputError(std::string("environment: MASTER_PORT='") + env + "' is not a port");
  }

  // The launcher waits for signals synchronously: block them before the first fork.
  sigset_t watched, previous;
  sigemptyset(&watched);
  for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGCHLD}) sigaddset(&watched, s);
  pthread_sigmask(SIG_BLOCK, &watched, &previous);

  std::vector<std::string> argvStore{options.executable};
  argvStore.insert(argvStore.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  for (auto& a : argvStore) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  const int n = options.nproc;
  std::vector<pid_t> pids(n, -1);
  for (int rank = 0; rank < n; ++rank) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      const std::string why = std::strerror(errno);
      for (int r = 0; r < rank; ++r) ::kill(pids[r], SIGKILL);
      for (int r = 0; r < rank; ++r) ::waitpid(pids[r], nullptr, 0);
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      throw InternalError("launcher: fork() failed: " + why);
    }
    if (pid == 0) {
      // Child: own process group (terminal signals reach it only via the launcher),
      // SIGTERM when the launcher dies, then exec the rank.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(n).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(n).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::unsetenv("TORCHELASTIC_USE_AGENT_STORE");
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      ::execv(argv[0], argv.data());
      std::fprintf(stderr, "segtrain launcher: cannot run %s: %s\n", argv[0], std::strerror(errno));
      ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here, so it holds before the launcher signals the group
    pids[rank] = pid;
  }
  log->info("launcher: {} ranks on 127.0.0.1:{} (pids {}{})", n, port, pids.front(), n > 1 ? " ..." : "");

  int alive = n;
  bool failed = false;
  int failCode = 0;
  int stopCode = 0;
  bool killed = false;
  Clock::time_point killAt{};
  const auto signalAlive = [&](int sig) {
    for (pid_t pid : pids)
      if (pid > 0) ::kill(pid, sig);
  };
  while (alive > 0) {
    timespec wait{0, 200 * 1000 * 1000};
    siginfo_t info;
    const int sig = ::sigtimedwait(&watched, &info, &wait);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGUSR1) {
      log->warn("launcher: forwarding signal {} ({}) to the ranks", sig, strsignal(sig));
      signalAlive(sig);
    }
    for (int rank = 0; rank < n; ++rank) {
      if (pids[rank] <= 0) continue;
      int status = 0;
      const pid_t done = ::waitpid(pids[rank], &status, WNOHANG);
      if (done != pids[rank]) continue;
      pids[rank] = -1;
      --alive;
      const int code = exitCode(status);
      if (code == 0) continue;
      if (WIFEXITED(status) && isOrderlyStop(code)) {
        stopCode = code;
        continue;
      }
      if (!failed) {
        failed = true;
        failCode = code;
        log->error("launcher: rank {} {}; stopping the other ranks", rank, describe(status));
        signalAlive(SIGTERM);
        killAt = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(options.graceSeconds * 1000));
      } else {
        log->warn("launcher: rank {} {}", rank, describe(status));
      }
    }
    if (failed && !killed && alive > 0 && Clock::now() >= killAt) {
      log->error("launcher: ranks still running {:.0f} s after the failure: killing them", options.graceSeconds);
      signalAlive(SIGKILL);
      killed = true;
    }
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (failed) return failCode;
  return stopCode;
}

}  // namespace seg::dist
