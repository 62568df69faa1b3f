// GoogleTest main. GPU-only tests carry the _CUDA suffix and derive from CudaTest
// (tests/support/Cuda.h), which skips them with the reason when no GPU is visible: ctest
// then lists them under "did not run" (Skipped), never as passed.
#include <gtest/gtest.h>

#include <iostream>

#include "core/TorchInfo.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (seg::visibleGpus() == 0 && !::testing::GTEST_FLAG(list_tests)) {
    std::cout << "segtests: no GPU visible (LibTorch " << seg::torchVersion()
              << (seg::torchHasCuda() ? ", CUDA " + seg::cudaBuildVersion() + " build" : ", CPU build")
              << "): *_CUDA tests are skipped\n";
  }
  return RUN_ALL_TESTS();
}
