#include "train/ProgressLine.h"

#include <cmath>
#include <cstdio>
#include <ostream>

namespace seg {

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  const auto s = static_cast<long long>(std::llround(seconds));
  char text[32];
  if (s < 60) {
    std::snprintf(text, sizeof text, "%llds", s);
  } else if (s < 3600) {
    std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  }
  return text;
}

std::string formatProgress(const ProgressSample& p) {
  char text[256];
  std::snprintf(text, sizeof text, "epoch %lld/%lld  it %lld/%lld  loss %.4f  %.2f it/s  ETA %s  loader wait %.0f%%",
                static_cast<long long>(p.epoch), static_cast<long long>(p.epochs), static_cast<long long>(p.iteration),
                static_cast<long long>(p.iterations), p.loss, p.itPerSecond, formatDuration(p.etaSeconds).c_str(),
                100.0 * std::fmin(1.0, std::fmax(0.0, p.loaderWaitShare)));
  return text;
}

ProgressLine::ProgressLine(ProgressLineOptions options) : options_(std::move(options)) {}

void ProgressLine::update(const ProgressSample& sample, double now) {
  const bool last = sample.iteration >= sample.iterations;
  if (options_.terminal) {
    if (!options_.terminalOut || (!last && now - lastDraw_ < options_.redrawEverySeconds)) return;
    // "\r" back to column 0, the line, then ESC[K erases what a longer previous line left.
    *options_.terminalOut << '\r' << formatProgress(sample) << "\x1b[K" << std::flush;
    drawn_ = true;
    lastDraw_ = now;
    return;
  }
  if (!options_.plainOut || options_.plainEverySeconds <= 0 || last) return;  // the epoch line follows
  if (now - lastPlain_ < options_.plainEverySeconds) return;
  if (lastPlain_ < -1e299) {
    lastPlain_ = now;  // the first interval starts at the first iteration, not at 0
    return;
  }
  options_.plainOut(formatProgress(sample));
  lastPlain_ = now;
}

void ProgressLine::clear() {
  if (!options_.terminal || !drawn_ || !options_.terminalOut) return;
  *options_.terminalOut << "\r\x1b[K" << std::flush;
  drawn_ = false;
}

}  // namespace seg
