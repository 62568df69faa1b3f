#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/Autocast.h"

namespace seg {
namespace {

TEST(AutocastTest, GuardRunsCpuConvInBfloat16AndRestores) {
  auto conv = torch::nn::Conv3d(torch::nn::Conv3dOptions(1, 2, 3));
  const auto x = torch::randn({1, 1, 4, 4, 4});
  ASSERT_FALSE(at::autocast::is_autocast_enabled(c10::DeviceType::CPU));
  {
    AutocastGuard guard(c10::DeviceType::CPU, true, c10::ScalarType::BFloat16);
    EXPECT_TRUE(at::autocast::is_autocast_enabled(c10::DeviceType::CPU));
    EXPECT_EQ(conv->forward(x).scalar_type(), torch::kBFloat16);
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(c10::DeviceType::CPU));
  EXPECT_EQ(conv->forward(x).scalar_type(), torch::kFloat32);
}

TEST(AutocastTest, DisabledGuardChangesNothing) {
  AutocastGuard guard(c10::DeviceType::CPU, false, c10::ScalarType::BFloat16);
  EXPECT_FALSE(at::autocast::is_autocast_enabled(c10::DeviceType::CPU));
}

TEST(AutocastTest, NestedGuardRestoresTheOuterDtype) {
  AutocastGuard outer(c10::DeviceType::CPU, true, c10::ScalarType::BFloat16);
  {
    AutocastGuard inner(c10::DeviceType::CPU, true, c10::ScalarType::Half);
    EXPECT_EQ(at::autocast::get_autocast_dtype(c10::DeviceType::CPU), c10::ScalarType::Half);
  }
  EXPECT_TRUE(at::autocast::is_autocast_enabled(c10::DeviceType::CPU));
  EXPECT_EQ(at::autocast::get_autocast_dtype(c10::DeviceType::CPU), c10::ScalarType::BFloat16);
}

}  // namespace
}  // namespace seg
