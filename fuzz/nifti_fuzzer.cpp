// libFuzzer target: the NIfTI inspect/read path (src/data/NiftiIO.cpp over ITK 5.2).
// Built by fuzz/CMakeLists.txt with clang (-fsanitize=fuzzer,address,undefined); run with
// scripts/fuzz.sh.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "harness/NiftiHarness.h"

namespace {
std::string workDir;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  char pattern[] = "/tmp/seg-nifti-fuzz-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) std::abort();
  workDir = pattern;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seg::fuzz::runNiftiInput(std::string(reinterpret_cast<const char*>(data), size), workDir);
  return 0;
}
