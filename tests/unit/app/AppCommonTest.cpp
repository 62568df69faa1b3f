#include "AppCommon.h"

#include <c10/util/Exception.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "core/Error.h"
#include "core/IoError.h"

namespace seg::app {
namespace {

struct Outcome {
  int rc;
  std::string err;
};

Outcome run(const std::function<int()>& body) {
  testing::internal::CaptureStderr();
  const int rc = runTool("segtest", body);
  return {rc, testing::internal::GetCapturedStderr()};
}

long lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// The exit-code policy of core/Error.h: input 2, everything else 1, one line each.
TEST(AppCommonRunTool, MapsEachErrorCategoryToItsExitCodeAndOneLine) {
  Outcome o = run([]() -> int { throw InputError("x.yaml:3:5: train.lr: expected a number"); });
  EXPECT_EQ(o.rc, 2);
  EXPECT_EQ(o.err, "segtest: error: x.yaml:3:5: train.lr: expected a number\n");
  o = run([]() -> int { throw IoError("cannot write 'out/metrics.json': write: No space left on device"); });
  EXPECT_EQ(o.rc, 1);
  EXPECT_EQ(o.err, "segtest: I/O error: cannot write 'out/metrics.json': write: No space left on device\n");
  o = run([]() -> int { throw std::logic_error("unexpected state"); });
  EXPECT_EQ(o.rc, 1);
  EXPECT_EQ(o.err, "segtest: internal error: unexpected state\n");
  o = run([]() -> int { return 7; });
  EXPECT_EQ(o.rc, 7);
  EXPECT_EQ(o.err, "");
}

TEST(AppCommonRunTool, LibTorchErrorIsOneLineWithoutBacktraceUnlessDebug) {
  auto throwing = []() -> int { TORCH_CHECK(false, "sizes (2,3) and (2,4) differ"); return 0; };
  const auto level = spdlog::default_logger()->level();
  spdlog::default_logger()->set_level(spdlog::level::info);
  Outcome o = run(throwing);
  EXPECT_EQ(o.rc, 1);
  EXPECT_EQ(lines(o.err), 1) << o.err;
  EXPECT_NE(o.err.find("segtest: internal error (LibTorch): sizes (2,3) and (2,4) differ"), std::string::npos) << o.err;
  EXPECT_EQ(o.err.find("Exception raised from"), std::string::npos) << o.err;
  // --log-level debug: LibTorch's full text, with where it was raised.
  spdlog::default_logger()->set_level(spdlog::level::debug);
  o = run(throwing);
  spdlog::default_logger()->set_level(level);
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("Exception raised from"), std::string::npos) << o.err;
  EXPECT_GT(lines(o.err), 1);
}

}  // namespace
}  // namespace seg::app
