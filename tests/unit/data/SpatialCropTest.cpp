#include <gtest/gtest.h>

#include <vector>

#include "core/Error.h"
#include "data/SpatialCrop.h"
#include "unit/data/SpatialCropGolden.h"

namespace seg {
namespace {

using test::golden::kCropCases;
using test::golden::kCropSourceDims;

// The source of scripts/reference/spatial_crop_reference.py: per voxel x = LCG(17),
// image ((x >> 8) % 1000) / 1000, label (x >> 20) % 3.
struct Source {
  std::vector<float> image;
  std::vector<uint8_t> label;
};
Source lcgSource() {
  const int64_t n = kCropSourceDims[0] * kCropSourceDims[1] * kCropSourceDims[2];
  Source s;
  uint32_t x = 17;
  for (int64_t i = 0; i < n; ++i) {
    x = 1664525u * x + 1013904223u;
    s.image.push_back(static_cast<float>(((x >> 8) % 1000) / 1000.0));
    s.label.push_back(static_cast<uint8_t>((x >> 20) % 3));
  }
  return s;
}

int64_t voxels(const std::array<int64_t, 3>& d) { return d[0] * d[1] * d[2]; }

TEST(SpatialCropTest, MatchesScipyMapCoordinatesAndNearestLabels) {
  const Source src = lcgSource();
  const CropSource source{src.image.data(), 1, src.label.data(), kCropSourceDims};
  // The rotated cases read partly outside the volume: the interior and the
  // bounds-checked border path are both compared.
  ASSERT_GT(kCropCases[0].outside, 0);
  ASSERT_LT(kCropCases[1].outside, voxels(kCropCases[1].patch));
  for (size_t k = 0; k < kCropCases.size(); ++k) {
    const auto& c = kCropCases[k];
    std::vector<float> image(voxels(c.patch), -1.0f);
    std::vector<uint8_t> label(voxels(c.patch), 255);
    cropAffine(source, c.centre, c.matrix, c.patch, image.data(), label.data());
    int mismatches = 0;
    for (size_t i = 0; i < image.size(); ++i) {
      // Float positions and arithmetic against scipy's double: within 1e-5 voxel, and
      // the image changes by at most 1 per voxel.
      EXPECT_NEAR(image[i], c.image[i], 2e-5) << "case " << k << " voxel " << i;
      if (label[i] != c.label[i] && ++mismatches <= 5) ADD_FAILURE() << "case " << k << " label voxel " << i;
    }
    EXPECT_EQ(mismatches, 0) << "case " << k;
  }
}

TEST(SpatialCropTest, ScalingOnlyReadsLikeTheGeneralPath) {
  // A diagonal matrix takes the separable path; an off-diagonal entry of 1e-30 moves no
  // position but takes the general one. Interior voxels are bit-identical (same positions,
  // same lerp order), border voxels agree to rounding, labels exactly.
  const Source src = lcgSource();
  const CropSource source{src.image.data(), 1, src.label.data(), kCropSourceDims};
  const std::array<int64_t, 3> patch{9, 11, 13};
  const std::array<double, 3> centre{4.6, 10.2, 3.9};
  for (double s : {0.7, 1.0, 1.4}) {
    std::array<double, 9> diagonal{1 / s, 0, 0, 0, 1 / (s * 1.1), 0, 0, 0, 0.9 / s};
    std::array<double, 9> general = diagonal;
    general[1] = 1e-30;
    std::vector<float> a(voxels(patch)), b(voxels(patch));
    std::vector<uint8_t> la(voxels(patch)), lb(voxels(patch));
    cropAffine(source, centre, diagonal, patch, a.data(), la.data());
    cropAffine(source, centre, general, patch, b.data(), lb.data());
    for (int64_t i = 0; i < voxels(patch); ++i) {
      EXPECT_NEAR(a[i], b[i], 1e-6) << "scale " << s << " voxel " << i;
      EXPECT_EQ(la[i], lb[i]) << "scale " << s << " voxel " << i;
    }
  }
}

TEST(SpatialCropTest, ChannelsShareTheCoordinatesAndTheLabelIsOptional) {
  // Channel 1 = 3 x channel 0: interpolation is linear, zero padding included.
  const Source src = lcgSource();
  const int64_t n = voxels(kCropSourceDims);
  std::vector<float> two(2 * n);
  for (int64_t i = 0; i < n; ++i) {
    two[i] = src.image[i];
    two[n + i] = 3.0f * src.image[i];
  }
  const auto& c = kCropCases[1];
  const int64_t m = voxels(c.patch);
  std::vector<float> image(2 * m);
  cropAffine(CropSource{two.data(), 2, nullptr, kCropSourceDims}, c.centre, c.matrix, c.patch, image.data(), nullptr);
  for (int64_t i = 0; i < m; ++i) {
    EXPECT_NEAR(image[i], c.image[i], 2e-5);
    EXPECT_NEAR(image[m + i], 3.0f * image[i], 1e-5);
  }
}

TEST(SpatialCropTest, RotatedReadOfAnOversizedSliceIsAnInputError) {
  // 50000 x 50000 voxels per slice do not fit the int32 in-slice offsets; nothing is read.
  const CropSource huge{nullptr, 1, nullptr, {1, 50000, 50000}};
  const std::array<double, 9> rotated{1, 0, 0, 0, 0.8, -0.6, 0, 0.6, 0.8};
  EXPECT_THROW(cropAffine(huge, {0, 25000, 25000}, rotated, {4, 4, 4}, nullptr, nullptr), InputError);
}

}  // namespace
}  // namespace seg
