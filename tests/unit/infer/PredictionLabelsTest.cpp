// From logits to label maps: argmax, one sigmoid channel, and regions painted in
// regions_class_order (nnunetv2 LabelManager.convert_probabilities_to_segmentation:
// segmentation[regions_probs[i] > 0.5] = regions_class_order[i], i in order). Expected maps by
// hand; nnunetv2 2.8.1's LabelManager gives the same two maps for these logits (checked with
// apply_inference_nonlin + convert_probabilities_to_segmentation, orders [1,2,3] and [3,2,1]).
#include "infer/PredictionLabels.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/Error.h"

namespace seg {
namespace {

LabelEncoding brats(std::vector<int> order = {1, 2, 3}) {
  LabelEncoding e;
  e.regions = {{1, 2, 3}, {2, 3}, {3}};
  e.regionNames = {"whole tumor", "tumor core", "enhancing tumor"};
  e.regionsClassOrder = std::move(order);
  return e;
}

// (3, 1, 1, 6) logits of the three regions at six voxels; + = p > 0.5.
//   voxel:   0  1  2  3  4  5
//   WT:      -  +  +  +  +  -
//   TC:      -  -  +  +  -  +
//   ET:      -  -  -  +  +  -
torch::Tensor regionLogits() {
  return torch::tensor({-2.f, 1.f, 3.f, 2.f, 0.5f, -1.f,    //
                        -1.f, -3.f, 2.f, 1.f, -0.5f, 4.f,  //
                        -4.f, -1.f, -0.1f, 0.2f, 1.f, -2.f})
      .reshape({3, 1, 1, 6});
}

std::vector<uint8_t> values(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<uint8_t>(), c.data_ptr<uint8_t>() + c.numel()};
}

TEST(PredictionLabels, RegionsPaintedInClassOrderLaterOverwrite) {
  PredictionRule rule;
  rule.encoding = brats();
  rule.sigmoid = true;
  // 0: nothing; 1: WT -> 1; 2: WT, TC -> 2; 3: all -> 3; 4: WT, ET (not TC) -> 3 (ET
  // painted last); 5: TC only -> 2.
  EXPECT_EQ(values(labelsFromScores(regionLogits(), rule, false)), (std::vector<uint8_t>{0, 1, 2, 3, 3, 2}));
  // Probabilities threshold at 0.5 give the same map.
  const auto probs = probabilitiesFromLogits(regionLogits(), rule);
  EXPECT_TRUE(torch::allclose(probs, torch::sigmoid(regionLogits())));
  EXPECT_EQ(values(labelsFromScores(probs, rule, true)), (std::vector<uint8_t>{0, 1, 2, 3, 3, 2}));
}

TEST(PredictionLabels, OtherClassOrderPaintsOtherValues) {
  // Values 3, 2, 1 for WT, TC, ET: still painted in region order, so ET's value 1
  // overwrites wherever ET is set and TC's 2 wherever TC is but ET is not.
  PredictionRule rule;
  rule.encoding = brats({3, 2, 1});
  EXPECT_EQ(values(labelsFromScores(regionLogits(), rule, false)), (std::vector<uint8_t>{0, 3, 2, 1, 1, 2}));
}

TEST(PredictionLabels, ArgmaxAndOneSigmoidChannel) {
  PredictionRule rule;
  const auto logits = torch::tensor({0.f, 5.f, 1.f, 2.f, 0.f, 3.f}).reshape({2, 1, 1, 3});
  EXPECT_EQ(values(labelsFromScores(logits, rule, false)), (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_TRUE(torch::allclose(probabilitiesFromLogits(logits, rule).sum(0), torch::ones({1, 1, 3})));
  rule.sigmoid = true;
  const auto one = torch::tensor({-1.f, 0.5f, 2.f}).reshape({1, 1, 1, 3});
  EXPECT_EQ(values(labelsFromScores(one, rule, false)), (std::vector<uint8_t>{0, 1, 1}));
}

TEST(PredictionLabels, ChannelsMustMatchRegions) {
  PredictionRule rule;
  rule.encoding = brats();
  EXPECT_THROW(labelsFromScores(torch::zeros({2, 1, 1, 3}), rule, false), InputError);
}

}  // namespace
}  // namespace seg
