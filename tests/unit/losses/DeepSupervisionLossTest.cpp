#include <gtest/gtest.h>
#include <torch/torch.h>

#include "losses/DeepSupervisionLoss.h"
#include "losses/DiceLoss.h"

namespace seg {
namespace {

TEST(DeepSupervisionLossTest, WeightsAreNnUNets) {
  // nnU-Net: 1/2^i, lowest resolution 0, normalised: (1, 0.5, 0.25, 0) / 1.75.
  const auto w = deepSupervisionWeights(4);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_NEAR(w[0], 1.0 / 1.75, 1e-12);
  EXPECT_NEAR(w[1], 0.5 / 1.75, 1e-12);
  EXPECT_NEAR(w[2], 0.25 / 1.75, 1e-12);
  EXPECT_EQ(w[3], 0.0);
  EXPECT_EQ(deepSupervisionWeights(1), std::vector<double>{1.0});
  EXPECT_EQ(deepSupervisionWeights(2), (std::vector<double>{1.0, 0.0}));
}

TEST(DeepSupervisionLossTest, LabelsAreDownsampledByNearestNeighbour) {
  auto labels = torch::arange(4 * 4 * 2, torch::kInt64).reshape({1, 1, 4, 4, 2});
  const auto small = downsampleLabels(labels, {2, 2, 1});
  EXPECT_EQ(small.scalar_type(), torch::kInt64);
  EXPECT_EQ(small.sizes(), (std::vector<int64_t>{1, 1, 2, 2, 1}));
  // Nearest with an integer factor takes every second voxel starting at 0.
  EXPECT_TRUE(torch::equal(small, labels.index({torch::indexing::Slice(), torch::indexing::Slice(),
                                                torch::indexing::Slice(0, 4, 2), torch::indexing::Slice(0, 4, 2),
                                                torch::indexing::Slice(0, 2, 2)})));
  EXPECT_TRUE(torch::equal(downsampleLabels(labels, {4, 4, 2}), labels));
}

TEST(DeepSupervisionLossTest, CombinesLevelsWithWeightsAndSkipsTheLowest) {
  auto labels = torch::randint(0, 2, {1, 1, 8, 8, 8}, torch::kInt64);
  std::vector<torch::Tensor> outs{torch::randn({1, 2, 8, 8, 8}), torch::randn({1, 2, 4, 4, 4}),
                                  torch::randn({1, 2, 2, 2, 2})};
  std::vector<std::vector<int64_t>> seen;
  const LevelLoss loss = [&](const torch::Tensor& l, const torch::Tensor& t) {
    EXPECT_EQ(l.sizes().slice(2), t.sizes().slice(2));
    seen.push_back(l.sizes().vec());
    return diceLoss(l, t, DiceLossOptions());
  };
  const double total = deepSupervisionLoss(outs, labels, loss).item<double>();
  ASSERT_EQ(seen.size(), 2u) << "the lowest-resolution level has weight 0 and is not evaluated";
  const double l0 = diceLoss(outs[0], labels, DiceLossOptions()).item<double>();
  const double l1 = diceLoss(outs[1], downsampleLabels(labels, {4, 4, 4}), DiceLossOptions()).item<double>();
  EXPECT_NEAR(total, (2.0 * l0 + 1.0 * l1) / 3.0, 1e-6);
}

TEST(DeepSupervisionLossTest, WrongNumberOfWeightsIsRejected) {
  auto labels = torch::zeros({1, 1, 4, 4, 4}, torch::kInt64);
  std::vector<torch::Tensor> outs{torch::randn({1, 2, 4, 4, 4}), torch::randn({1, 2, 2, 2, 2})};
  try {
    deepSupervisionLoss(outs, labels, [](const torch::Tensor& l, const torch::Tensor& t) { return l.sum(); }, {1.0});
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("1 weights given for 2 outputs"), std::string::npos);
  }
}

}  // namespace
}  // namespace seg
