#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/TorchCompat.h"

namespace seg {
namespace {

TEST(TorchCompatTest, AutocastGuardRunsCpuConvInBfloat16AndRestores) {
  auto conv = torch::nn::Conv3d(torch::nn::Conv3dOptions(1, 2, 3));
  const auto x = torch::randn({1, 1, 4, 4, 4});
  ASSERT_FALSE(compat::autocastEnabled(c10::DeviceType::CPU));
  {
    compat::AutocastGuard guard(c10::DeviceType::CPU, true, c10::ScalarType::BFloat16);
    EXPECT_TRUE(compat::autocastEnabled(c10::DeviceType::CPU));
    EXPECT_EQ(conv->forward(x).scalar_type(), torch::kBFloat16);
  }
  EXPECT_FALSE(compat::autocastEnabled(c10::DeviceType::CPU));
  EXPECT_EQ(conv->forward(x).scalar_type(), torch::kFloat32);
}

TEST(TorchCompatTest, DisabledGuardChangesNothing) {
  compat::AutocastGuard guard(c10::DeviceType::CPU, false, c10::ScalarType::BFloat16);
  EXPECT_FALSE(compat::autocastEnabled(c10::DeviceType::CPU));
}

TEST(TorchCompatTest, VersionMatchesHeaders) {
  EXPECT_EQ(compat::torchVersion().substr(0, 2), std::to_string(TORCH_VERSION_MAJOR) + ".");
  if (!compat::cudaAvailable()) SUCCEED();
}

}  // namespace
}  // namespace seg
