#pragma once
// Fixture of the GPU-only tests: TEST_F(CudaTest, Name_CUDA). Without a visible GPU each such
// test is skipped with the reason (GTEST_SKIP), which ctest reports as skipped.
#include <gtest/gtest.h>

#include "core/TorchInfo.h"

namespace seg::test {

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (visibleGpus() == 0) {
      GTEST_SKIP() << "no GPU visible (LibTorch " << torchVersion()
                   << (torchHasCuda() ? " with CUDA " + cudaBuildVersion() : std::string(", a CPU build")) << ")";
    }
  }
};

}  // namespace seg::test
