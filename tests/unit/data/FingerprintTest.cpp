// segdata plan: the fingerprint of files with known lesions, and the plan heuristic
// (docs/data.md) on fingerprints with known spacings and shapes.
#include "data/Fingerprint.h"

#include <gtest/gtest.h>

#include "data/NiftiIO.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

CaseFingerprint fpCase(std::array<double, 3> spacing, std::array<int64_t, 3> size) { return {"c", spacing, size}; }

TEST(Fingerprint, CountsLesionsPerClassBySizeAndForegroundIntensity) {
  test::TempDir dir;
  std::vector<CaseEntry> entries;
  for (int k = 0; k < 2; ++k) {
    Volume v;
    v.geometry.size = {20, 16, 12};
    v.geometry.spacing = {1.0, 2.0, 2.0};  // 4 mm^3 voxels
    LabelVolume l;
    l.geometry = v.geometry;
    v.data.assign(static_cast<size_t>(v.geometry.numVoxels()), 0.0f);
    l.data.assign(v.data.size(), 0);
    auto box = [&](int x0, int y0, int z0, int n, uint8_t cls, float value) {
      for (int z = z0; z < z0 + n; ++z)
        for (int y = y0; y < y0 + n; ++y)
          for (int x = x0; x < x0 + n; ++x) {
            l.data[test::at(l.geometry, x, y, z)] = cls;
            v.data[test::at(v.geometry, x, y, z)] = value;
          }
    };
    box(1, 1, 1, 1, 1, 10.0f);        // 4 mm^3 -> bin [0, 10)
    box(5, 5, 5, 3, 1, 20.0f);        // 27 voxels, 108 mm^3 -> bin [100, 1000)
    if (k == 1) box(12, 2, 2, 7, 2, 30.0f);  // 343 voxels, 1372 mm^3 -> bin [1000, inf), class 2
    const std::string id = "case" + std::to_string(k);
    writeImage(v, dir.file(id + "_0000.nii.gz"));
    writeLabel(l, dir.file(id + ".nii.gz"));
    entries.push_back({id, {dir.file(id + "_0000.nii.gz")}, dir.file(id + ".nii.gz")});
  }
  const DatasetFingerprint fp = fingerprintDataset(entries, 3);
  ASSERT_EQ(fp.cases.size(), 2u);
  EXPECT_EQ(fp.cases[0].size, (std::array<int64_t, 3>{20, 16, 12}));
  EXPECT_EQ(fp.medianSpacing, (std::array<double, 3>{1.0, 2.0, 2.0}));
  ASSERT_EQ(fp.classes.size(), 2u);
  EXPECT_EQ(fp.classes[0].lesions, 4);
  EXPECT_EQ(fp.classes[0].casesWithClass, 2);
  EXPECT_EQ(fp.classes[0].sizeHistogram, (std::vector<int64_t>{2, 0, 2, 0}));
  EXPECT_EQ(fp.classes[1].lesions, 1);
  EXPECT_EQ(fp.classes[1].casesWithClass, 1);
  EXPECT_EQ(fp.classes[1].sizeHistogram, (std::vector<int64_t>{0, 0, 0, 1}));
  EXPECT_DOUBLE_EQ(fp.classes[1].totalMm3, 343 * 4.0);
  // Foreground: 2 x (1 x 10 + 27 x 20) + 343 x 30.
  ASSERT_EQ(fp.intensity.size(), 1u);
  const double n = 2 * 28 + 343, mean = (2 * (10 + 27 * 20) + 343 * 30) / n;
  EXPECT_NEAR(fp.intensity[0].mean, mean, 1e-9);
  EXPECT_EQ(fp.intensity[0].min, 10);
  EXPECT_EQ(fp.intensity[0].max, 30);
  EXPECT_EQ(fp.intensity[0].p50, 30);
}

TEST(Fingerprint, PlanFollowsTheDocumentedHeuristic) {
  DatasetFingerprint fp;
  // Isotropic 1 mm, median 160 x 160 x 120: the 256^3 cube is cut to the median shape
  // (rounded up to multiples of 8), then shrunk by 8 along the axis largest relative to
  // the median shape (first on ties) until it holds at most 128^3 voxels:
  // 160,160,120 -> x152 -> y152 -> z112 -> x144 -> y144 -> z104 -> x136 (2,036,736 voxels).
  for (int i = 0; i < 5; ++i) fp.cases.push_back(fpCase({1, 1, 1}, {160, 160, 120}));
  Plan p = suggestPlan(fp);
  EXPECT_EQ(p.spacing, (std::array<double, 3>{1, 1, 1}));
  EXPECT_LE(p.patchSize[0] * p.patchSize[1] * p.patchSize[2], 128 * 128 * 128);
  for (int a = 0; a < 3; ++a) EXPECT_EQ(p.patchSize[a] % 8, 0);
  EXPECT_EQ(p.patchSize, (std::array<int64_t, 3>{136, 144, 104}));
  // floor(2 x budget / patch) = floor(2.06) = 2; 5% of the dataset would allow round(7.5) = 8.
  EXPECT_EQ(p.batchSize, 2);

  // Anisotropic (z 5 mm, few slices): target z from the 10th percentile; the patch keeps
  // the physical extent (fewer z voxels).
  DatasetFingerprint aniso;
  for (double z : {5.0, 5.0, 4.0, 6.0, 2.5}) aniso.cases.push_back(fpCase({0.8, 0.8, z}, {512, 512, 30}));
  p = suggestPlan(aniso);
  EXPECT_NEAR(p.spacing[2], 3.1, 1e-12);  // np.percentile([2.5, 4, 5, 5, 6], 10)
  EXPECT_LT(p.patchSize[2], p.patchSize[0]);
  EXPECT_LE(p.patchSize[0] * p.patchSize[1] * p.patchSize[2], 128 * 128 * 128);

  // Small volumes: the patch is the (rounded) median shape and the batch grows, capped
  // at 5% of the dataset's voxels.
  DatasetFingerprint small;
  for (int i = 0; i < 400; ++i) small.cases.push_back(fpCase({1, 1, 1}, {40, 40, 40}));
  p = suggestPlan(small);
  EXPECT_EQ(p.patchSize, (std::array<int64_t, 3>{40, 40, 40}));
  EXPECT_EQ(p.batchSize, 20);  // round(0.05 x 400 x 40^3 / 40^3); the budget would allow 65
}

}  // namespace
}  // namespace seg
