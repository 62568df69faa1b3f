#include "core/ConnectedComponents.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <limits>
#include <random>
#include <set>
#include <tuple>

#include "core/Error.h"
#include "support/LabelFixtures.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::at;
using test::expectSameDouble;
using test::fill;
using test::makeLabels;
using test::WorkedExample;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------
// Connected components

struct ConnectivityCase {
  const char* name;
  std::array<int64_t, 3> second;  // first voxel at (0,0,0)
  int count6, count18, count26;
};

class ComponentConnectivity : public ::testing::TestWithParam<ConnectivityCase> {};

TEST_P(ComponentConnectivity, TwoVoxelsJoinOnlyUnderTheRightNeighbourhood) {
  const ConnectivityCase& c = GetParam();
  LabelVolume v = makeLabels(3, 3, 3);
  v.data[at(v.geometry, 0, 0, 0)] = 1;
  v.data[at(v.geometry, c.second[0], c.second[1], c.second[2])] = 1;
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 1, 6).count, c.count6);
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 1, 18).count, c.count18);
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 1, 26).count, c.count26);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ComponentConnectivity,
    ::testing::Values(ConnectivityCase{"face", {1, 0, 0}, 1, 1, 1},
                      ConnectivityCase{"edge_xy", {1, 1, 0}, 2, 1, 1},
                      ConnectivityCase{"edge_yz", {0, 1, 1}, 2, 1, 1},
                      ConnectivityCase{"corner", {1, 1, 1}, 2, 2, 1},
                      ConnectivityCase{"apart", {2, 0, 0}, 2, 2, 2}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ComponentLabelling, IdsFollowRasterOrderOfFirstVoxelAfterMerges) {
  // One slice (x right, y down):   . . . A . B
  //                                A A A A . B
  // The A row starts a fresh provisional label that is merged into the earlier (3,0)
  // label, so A must still be id 1 and B id 2.
  LabelVolume v = makeLabels(6, 2, 1);
  for (int64_t x : {3, 5}) v.data[at(v.geometry, x, 0, 0)] = 1;
  for (int64_t x : {0, 1, 2, 3, 5}) v.data[at(v.geometry, x, 1, 0)] = 1;
  const Components cc = connectedComponents(v.data, v.geometry.size, 1, 6);
  EXPECT_EQ(cc.count, 2);
  const std::vector<int32_t> expected{0, 0, 0, 1, 0, 2, 1, 1, 1, 1, 0, 2};
  EXPECT_EQ(cc.ids, expected);
}

TEST(ComponentLabelling, LabelsTheRequestedClassOnly) {
  LabelVolume v = makeLabels(3, 1, 1);
  v.data = {2, 1, 2};
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 2, 26).count, 2);
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 1, 26).count, 1);
  EXPECT_EQ(connectedComponents(v.data, v.geometry.size, 3, 26).count, 0);
}

TEST(ComponentLabelling, RejectsBadConnectivityAndSize) {
  LabelVolume v = makeLabels(3, 1, 1);
  try {
    connectedComponents(v.data, v.geometry.size, 1, 8);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "connectedComponents: connectivity must be 6, 18 or 26, got 8");
  }
  EXPECT_THROW(connectedComponents(v.data, {4, 1, 1}, 1, 6), InputError);
}

// Breadth-first flood fill over the full neighbourhood, visiting seeds in raster order:
// a second, independent way to the same ids.
std::vector<int32_t> floodFillIds(const std::vector<uint8_t>& labels, std::array<int64_t, 3> size,
                                  int rank) {
  const int64_t nx = size[0], ny = size[1], nz = size[2];
  std::vector<int32_t> ids(labels.size(), 0);
  int32_t next = 0;
  for (int64_t seed = 0; seed < static_cast<int64_t>(labels.size()); ++seed) {
    if (labels[seed] != 1 || ids[seed] != 0) continue;
    ids[seed] = ++next;
    std::deque<int64_t> queue{seed};
    while (!queue.empty()) {
      const int64_t i = queue.front();
      queue.pop_front();
      const int64_t x = i % nx, y = (i / nx) % ny, z = i / (nx * ny);
      for (int dz = -1; dz <= 1; ++dz)
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) {
            if (std::abs(dx) + std::abs(dy) + std::abs(dz) > rank) continue;
            const int64_t X = x + dx, Y = y + dy, Z = z + dz;
            if (X < 0 || Y < 0 || Z < 0 || X >= nx || Y >= ny || Z >= nz) continue;
            const int64_t j = (Z * ny + Y) * nx + X;
            if (labels[j] == 1 && ids[j] == 0) {
              ids[j] = next;
              queue.push_back(j);
            }
          }
    }
  }
  return ids;
}

TEST(ComponentLabelling, AgreesWithFloodFillOnRandomVolumes) {
  std::mt19937 rng(7);
  for (double density : {0.15, 0.3, 0.5}) {
    std::bernoulli_distribution on(density);
    LabelVolume v = makeLabels(17, 13, 11);
    for (auto& value : v.data) value = on(rng) ? 1 : 0;
    for (auto [connectivity, rank] : {std::pair{6, 1}, {18, 2}, {26, 3}}) {
      const Components cc = connectedComponents(v.data, v.geometry.size, 1, connectivity);
      const auto expected = floodFillIds(v.data, v.geometry.size, rank);
      EXPECT_EQ(cc.ids, expected) << "density " << density << ", connectivity " << connectivity;
      EXPECT_EQ(cc.count, *std::max_element(expected.begin(), expected.end()));
    }
  }
}

}  // namespace
}  // namespace seg
