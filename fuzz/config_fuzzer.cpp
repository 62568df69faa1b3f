// libFuzzer target: the YAML config loader (src/config). Built by fuzz/CMakeLists.txt with
// clang (-fsanitize=fuzzer,address,undefined); run with scripts/fuzz.sh.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "harness/ConfigHarness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!seg::fuzz::runConfigInput(std::string(reinterpret_cast<const char*>(data), size))) std::abort();
  return 0;
}
