#include "core/LabelEncoding.h"

#include <gtest/gtest.h>

#include "core/Error.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::errorOf;

// BraTS (nnunetv2 Dataset137_BraTS21): whole tumour {1,2,3}, tumour core {2,3}, enhancing {3},
// painted in the order 1, 2, 3.
LabelEncoding brats() {
  LabelEncoding e;
  e.regions = {{1, 2, 3}, {2, 3}, {3}};
  e.regionNames = {"whole tumor", "tumor core", "enhancing tumor"};
  e.regionsClassOrder = {1, 2, 3};
  return e;
}

LabelVolume labels(std::vector<uint8_t> values) {
  LabelVolume v;
  v.geometry.size = {static_cast<int64_t>(values.size()), 1, 1};
  v.data = std::move(values);
  return v;
}

TEST(LabelEncoding, RegionMasksOfNestedBratsRegions) {
  const LabelEncoding e = brats();
  const LabelVolume l = labels({0, 1, 2, 3, 4});
  EXPECT_EQ(regionMask(l, e, 0).data, (std::vector<uint8_t>{0, 1, 1, 1, 0}));
  EXPECT_EQ(regionMask(l, e, 1).data, (std::vector<uint8_t>{0, 0, 1, 1, 0}));
  EXPECT_EQ(regionMask(l, e, 2).data, (std::vector<uint8_t>{0, 0, 0, 1, 0}));
  const auto bits = e.regionBits();
  EXPECT_EQ(bits[0], 0u);
  EXPECT_EQ(bits[1], 0b001u);
  EXPECT_EQ(bits[2], 0b011u);
  EXPECT_EQ(bits[3], 0b111u);
}

// Painting the region masks of a label map in regions_class_order gives the label map back
// for nested regions (what nnU-Net's region prediction relies on); later regions win.
TEST(LabelEncoding, PaintingNestedRegionsRestoresTheLabels) {
  const LabelEncoding e = brats();
  const LabelVolume l = labels({0, 1, 2, 3, 3, 1, 0});
  std::vector<LabelVolume> masks;
  for (size_t r = 0; r < 3; ++r) masks.push_back(regionMask(l, e, r));
  EXPECT_EQ(paintRegions(masks, e).data, l.data);
  // A voxel in "enhancing" but not in "whole tumour" (an inconsistent prediction) still gets 3.
  masks[0].data[6] = 0;
  masks[2].data[6] = 1;
  EXPECT_EQ(paintRegions(masks, e).data[6], 3);
}

TEST(LabelEncoding, IgnoredVoxelsAreDroppedFromBothMaps) {
  LabelEncoding e;
  e.ignoreLabel = 4;
  LabelVolume ref = labels({0, 1, 4, 4, 1});
  LabelVolume pred = labels({1, 1, 1, 0, 0});
  dropIgnored(pred, ref, e);
  EXPECT_EQ(ref.data, (std::vector<uint8_t>{0, 1, 0, 0, 1}));
  EXPECT_EQ(pred.data, (std::vector<uint8_t>{1, 1, 0, 0, 0}));
  LabelEncoding none;
  LabelVolume ref2 = labels({4}), pred2 = labels({1});
  dropIgnored(pred2, ref2, none);
  EXPECT_EQ(ref2.data[0], 4);
  EXPECT_EQ(pred2.data[0], 1);
}

TEST(LabelEncoding, CheckNamesWhatIsWrong) {
  LabelEncoding e = brats();
  EXPECT_NO_THROW(e.check("data.regions"));
  e.regionsClassOrder = {1, 2};
  EXPECT_NE(errorOf([&] { e.check("data.regions"); }).find("one value per region (3 regions, 2 values)"),
            std::string::npos);
  e = brats();
  e.ignoreLabel = 3;
  EXPECT_NE(errorOf([&] { e.check("data.regions"); }).find("region 'whole tumor': contains the ignore label 3"),
            std::string::npos);
  e = brats();
  e.regions[1] = {};
  EXPECT_NE(errorOf([&] { e.check("x"); }).find("has no label values"), std::string::npos);
}

}  // namespace
}  // namespace seg
