// What this build's backends were compiled with, checked without a GPU.
#include <gtest/gtest.h>

#include "core/TorchInfo.h"
#include "train/dist/CollectiveBackends.h"
#include "train/dist/ProcessGroup.h"

namespace seg::dist {
namespace {

TEST(CollectiveBackendsTest, GlooIsAlwaysBuilt) {
  EXPECT_TRUE(glooBuilt());
  EXPECT_TRUE(ProcessGroup::glooAvailable());
}

TEST(CollectiveBackendsTest, NcclIsBuiltExactlyWithACudaLibTorch) {
  EXPECT_EQ(ncclBuilt(), torchHasCuda());
  EXPECT_EQ(ProcessGroup::ncclAvailable(), torchHasCuda());
}

// ProcessGroupNCCL::Options embeds ncclConfig_t: the nccl.h we compiled against must be the
// one LibTorch was built with, or the options would be misread; and the wheel's libnccl,
// which LibTorch loads, is that release too.
TEST(CollectiveBackendsTest, NcclHeaderIsTheOneLibTorchWasBuiltWithAndLoads) {
  if (!ncclBuilt()) GTEST_SKIP() << "CPU LibTorch " << torchVersion() << ": no NCCL backend";
  const std::string header = ncclHeaderVersion();
  EXPECT_TRUE(::testing::internal::RE::FullMatch(header, "2\\.[0-9]+\\.[0-9]+")) << header;
  EXPECT_EQ(header, ncclTorchBuildVersion());
  EXPECT_EQ(header, ncclLibraryVersion());
}

}  // namespace
}  // namespace seg::dist
