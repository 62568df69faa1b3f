// train.device / --device resolution (jobs/Factories.h): cuda without a GPU is a usage error
// naming the option; auto falls back to the CPU.
#include <gtest/gtest.h>

#include "core/TorchInfo.h"
#include "support/TestUtil.h"
#include "jobs/Factories.h"

namespace seg {
namespace {

TEST(DeviceTest, CpuIsTheCpu) { EXPECT_EQ(resolveDevice("cpu"), torch::Device(torch::kCPU)); }

TEST(DeviceTest, AutoIsTheFirstGpuOrTheCpu) {
  const torch::Device expected = visibleGpus() > 0 ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  EXPECT_EQ(resolveDevice("auto"), expected);
}

TEST(DeviceTest, CudaWithoutAGpuIsAnInputErrorNamingTheOption) {
  if (visibleGpus() > 0) GTEST_SKIP() << "a GPU is visible: cuda resolves to it";
  const std::string why = torchHasCuda()
                              ? "LibTorch " + torchVersion() + " with CUDA " + cudaBuildVersion() +
                                    " finds no CUDA device; check the driver and CUDA_VISIBLE_DEVICES"
                              : "this segtrain's LibTorch " + torchVersion() + " is a CPU build";
  EXPECT_EQ(test::errorOf([] { resolveDevice("cuda"); }),
            "train.device: cuda requested, but no GPU is visible (" + why + "); use cpu or auto");
  EXPECT_EQ(test::errorOf([] { resolveDevice("cuda", "--device"); }).substr(0, 35),
            "--device: cuda requested, but no GP");
}

TEST(DeviceTest, UnknownDeviceNamesTheChoices) {
  EXPECT_EQ(test::errorOf([] { resolveDevice("tpu"); }),
            "train.device: unknown device 'tpu' (expected cpu, cuda or auto)");
}

}  // namespace
}  // namespace seg
