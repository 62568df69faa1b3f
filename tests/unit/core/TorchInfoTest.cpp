#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include "core/TorchInfo.h"

namespace seg {
namespace {

TEST(TorchInfoTest, VersionIsTheHeadersOne) {
  EXPECT_EQ(torchVersion(), TORCH_VERSION);
  EXPECT_EQ(torchVersion().substr(0, 2), std::to_string(TORCH_VERSION_MAJOR) + ".");
}

TEST(TorchInfoTest, CudaVersionsArePresentExactlyInCudaBuilds) {
  if (!torchHasCuda()) {
    EXPECT_EQ(cudaBuildVersion(), "");
    EXPECT_EQ(cudnnBuildVersion(), "");
    EXPECT_EQ(visibleGpus(), 0);
    return;
  }
  // "13.0": major.minor; cuDNN "9.24.0": major.minor.patch, and the loaded library is the
  // same major release as the one LibTorch was built with.
  EXPECT_TRUE(::testing::internal::RE::FullMatch(cudaBuildVersion(), "[0-9]+\\.[0-9]+")) << cudaBuildVersion();
  const std::string built = cudnnBuildVersion();
  const std::string loaded = cudnnLoadedVersion();
  EXPECT_TRUE(::testing::internal::RE::FullMatch(built, "[0-9]+\\.[0-9]+\\.[0-9]+")) << built;
  EXPECT_EQ(loaded.substr(0, loaded.find('.')), built.substr(0, built.find('.')));
}

TEST(TorchInfoTest, VisibleGpusAgreesWithLibTorch) {
  EXPECT_EQ(visibleGpus() > 0, torch::cuda::is_available());
}

}  // namespace
}  // namespace seg
