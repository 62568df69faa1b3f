#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "train/ProgressLine.h"

namespace seg {
namespace {

ProgressSample sampleAt(int64_t iteration) {
  ProgressSample s;
  s.epoch = 3;
  s.epochs = 100;
  s.iteration = iteration;
  s.iterations = 250;
  s.loss = 0.43214;
  s.itPerSecond = 2.414;
  s.etaSeconds = 3725;
  s.loaderWaitShare = 0.123;
  return s;
}

TEST(ProgressLineTest, FormatsEveryField) {
  EXPECT_EQ(formatProgress(sampleAt(120)), "epoch 3/100  it 120/250  loss 0.4321  2.41 it/s  ETA 1h02m  loader wait 12%");
}

TEST(ProgressLineTest, FormatsDurations) {
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(44.6), "45s");
  EXPECT_EQ(formatDuration(725), "12m05s");
  EXPECT_EQ(formatDuration(3 * 3600 + 7 * 60 + 59), "3h07m");
  EXPECT_EQ(formatDuration(-1), "--");
  EXPECT_EQ(formatDuration(1.0 / 0.0), "--");
}

TEST(ProgressLineTest, TerminalRedrawsInPlaceAndThrottles) {
  std::ostringstream out;
  std::vector<std::string> plain;
  ProgressLineOptions o;
  o.terminal = true;
  o.terminalOut = &out;
  o.redrawEverySeconds = 1.0;
  o.plainOut = [&](const std::string& line) { plain.push_back(line); };
  ProgressLine line(o);
  line.update(sampleAt(1), 10.0);
  line.update(sampleAt(2), 10.5);   // within the redraw interval: not drawn
  line.update(sampleAt(3), 11.2);
  line.update(sampleAt(250), 11.3);  // the last iteration is always drawn
  const std::string text = out.str();
  EXPECT_EQ(text.find('\n'), std::string::npos) << "a terminal status line never starts a new line";
  EXPECT_NE(text.find("\repoch 3/100  it 1/250"), std::string::npos);
  EXPECT_EQ(text.find("it 2/250"), std::string::npos);
  EXPECT_NE(text.find("\repoch 3/100  it 3/250"), std::string::npos);
  EXPECT_NE(text.find("\repoch 3/100  it 250/250"), std::string::npos);
  EXPECT_NE(text.find("\x1b[K"), std::string::npos) << "erase the tail of a longer previous line";
  EXPECT_TRUE(plain.empty()) << "terminal mode writes no log lines";
  line.clear();
  EXPECT_EQ(out.str().substr(text.size()), "\r\x1b[K");
  line.clear();  // nothing drawn any more: nothing to erase
  EXPECT_EQ(out.str().size(), text.size() + 4);
}

TEST(ProgressLineTest, PlainModeWritesLinesWithoutCarriageReturns) {
  std::ostringstream out;
  std::vector<std::string> plain;
  ProgressLineOptions o;
  o.terminal = false;
  o.terminalOut = &out;
  o.plainEverySeconds = 60.0;
  o.plainOut = [&](const std::string& line) { plain.push_back(line); };
  ProgressLine line(o);
  for (int i = 1; i <= 249; ++i) line.update(sampleAt(i), 100.0 + i);  // one iteration per second
  line.update(sampleAt(250), 400.0);
  line.clear();
  EXPECT_TRUE(out.str().empty()) << "plain mode never touches the terminal stream";
  // First interval starts at the first iteration (t=101): lines at t=161, 221, 281, 341.
  ASSERT_EQ(plain.size(), 4u);
  EXPECT_EQ(plain[0].rfind("epoch 3/100  it 61/250", 0), 0u) << plain[0];
  for (const auto& l : plain) EXPECT_EQ(l.find('\r'), std::string::npos);
}

}  // namespace
}  // namespace seg
