// segeval --regions: the text form of a region list.
#include <gtest/gtest.h>

#include "core/Error.h"
#include "jobs/EvalJob.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

TEST(EvalJobRegions, ParsesNamedRegions) {
  const LabelEncoding e = parseRegionList("whole tumor=1,2,3; tumor core = 3,2;enhancing tumor=3", "--regions");
  ASSERT_EQ(e.regions.size(), 3u);
  EXPECT_EQ(e.regionNames, (std::vector<std::string>{"whole tumor", "tumor core", "enhancing tumor"}));
  EXPECT_EQ(e.regions[1], (std::vector<int>{2, 3}));  // sorted
  EXPECT_EQ(e.regionsClassOrder, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(e.hasIgnore());
}

TEST(EvalJobRegions, BadListsNameTheOption) {
  for (const char* bad : {"", "1,2,3", "wt=", "wt=1,x", "wt=0", "wt=256", "wt=1;;=2"}) {
    const std::string message = test::errorOf([&] { parseRegionList(bad, "--regions"); });
    EXPECT_EQ(message.rfind("--regions", 0), 0u) << bad << ": " << message;
  }
}

}  // namespace
}  // namespace seg
