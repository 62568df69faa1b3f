#pragma once
// What the user sees while an epoch runs. On a terminal: one status line redrawn in
// place with '\r' (epoch, iteration, loss, it/s, ETA, share of time spent waiting for
// the loader). Elsewhere (a log file, a pipe, Slurm's output file): a plain line every
// `plainEverySeconds`, because carriage returns make a mess of files. Whether the output
// is a terminal is decided by the caller (app/ asks isatty) and injected here, so both
// modes are testable. No torch.
#include <functional>
#include <iosfwd>
#include <string>

namespace seg {

struct ProgressSample {
  int64_t epoch = 0;           // 1-based epoch being trained
  int64_t epochs = 0;          // total epochs of the run
  int64_t iteration = 0;       // 1-based iteration within the epoch
  int64_t iterations = 0;      // iterations per epoch
  double loss = 0.0;           // running mean train loss of this epoch
  double itPerSecond = 0.0;    // this epoch so far
  double etaSeconds = 0.0;     // remaining iterations of the run at the current speed
  double loaderWaitShare = 0.0;  // share of this epoch's wall time spent waiting for batches, [0, 1]
};

// "epoch 3/100  it 120/250  loss 0.4321  2.41 it/s  ETA 1h02m  loader wait 12%"
std::string formatProgress(const ProgressSample& sample);
// "45s", "12m05s", "3h07m"; "--" for a negative or non-finite duration.
std::string formatDuration(double seconds);

struct ProgressLineOptions {
  bool terminal = false;            // redraw one line with '\r' (true) or print plain lines
  std::ostream* terminalOut = nullptr;  // where the redrawn line goes (stderr in segtrain)
  double redrawEverySeconds = 0.25;     // terminal: at most this often (last iteration always)
  double plainEverySeconds = 60.0;      // plain mode: at most this often; <= 0 never
  std::function<void(const std::string&)> plainOut;  // plain mode sink (the "train" logger)
};

class ProgressLine {
 public:
  explicit ProgressLine(ProgressLineOptions options);
  // `now` in seconds on any monotonic clock (injected for tests).
  void update(const ProgressSample& sample, double now);
  // Terminal mode: erase the status line so a log message does not land on its tail.
  // Plain mode: nothing.
  void clear();

 private:
  ProgressLineOptions options_;
  bool drawn_ = false;
  double lastDraw_ = -1e300;
  double lastPlain_ = -1e300;
};

}  // namespace seg
