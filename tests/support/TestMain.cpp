// GoogleTest main: tests whose name carries the _CUDA suffix need a GPU and are
// filtered out when LibTorch sees none.
#include <gtest/gtest.h>
#include <torch/cuda.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!torch::cuda::is_available()) {
    std::string filter = ::testing::GTEST_FLAG(filter);
    filter += (filter.find('-') == std::string::npos) ? "-*_CUDA*:*_CUDA/*" : ":*_CUDA*:*_CUDA/*";
    ::testing::GTEST_FLAG(filter) = filter;
  }
  return RUN_ALL_TESTS();
}
