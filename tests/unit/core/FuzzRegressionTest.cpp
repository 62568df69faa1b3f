// The fuzz corpus and every fuzzer finding (fuzz/corpus, fuzz/regressions), replayed through
// the same harnesses as the libFuzzer targets (fuzz/harness/*.h), so the regular and the
// sanitizer builds keep them fixed without clang or libFuzzer.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

// Relative include: fuzz/ is not an include directory of segtests.
#include "../../../fuzz/harness/ConfigHarness.h"
#include "../../../fuzz/harness/NiftiHarness.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputsOf(const std::string& target) {
  std::vector<fs::path> files;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path dir = fs::path(SEG_SOURCE_DIR) / "fuzz" / kind / target;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string bytesOf(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(FuzzRegressionTest, ConfigInputsLoadOrAreRefusedAndRoundTrip) {
  const auto files = inputsOf("config");
  ASSERT_GE(files.size(), 4u);
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    EXPECT_TRUE(fuzz::runConfigInput(bytesOf(file)));
  }
}

TEST(FuzzRegressionTest, NiftiInputsReadOrAreRefused) {
  const auto files = inputsOf("nifti");
  ASSERT_GE(files.size(), 6u);
  test::TempDir dir;
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    EXPECT_NO_THROW(fuzz::runNiftiInput(bytesOf(file), dir.path()));
  }
}

}  // namespace
}  // namespace seg
