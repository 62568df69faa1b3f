// Preprocessing against an independent reference (scripts/reference/preprocess_reference.py:
// numpy statistics, nnU-Net's target-spacing rule, nibabel.orientations), plus the
// ITK resampling geometry and the round trip back onto an input grid.
#include "data/Preprocess.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/Error.h"
#include "data/CaseLoader.h"
#include "data/NiftiIO.h"
#include "data/Resample.h"
#include "support/TestUtil.h"
#include "unit/data/PreprocessGolden.h"

namespace seg {
namespace {

namespace golden = test::golden;

std::vector<uint32_t> lcg(size_t n, uint32_t seed) {
  std::vector<uint32_t> out(n);
  uint32_t x = seed;
  for (auto& v : out) v = x = 1664525u * x + 1013904223u;
  return out;
}

struct Case {
  Volume image;
  LabelVolume label;
};

Case statsCase(const golden::StatsCase& c) {
  Case out;
  out.image.geometry.size = {c.nx, c.ny, c.nz};
  out.label.geometry = out.image.geometry;
  for (uint32_t x : lcg(static_cast<size_t>(c.nx * c.ny * c.nz), c.seed)) {
    out.image.data.push_back(static_cast<float>((x % 8000) * 0.25 - 1000.0));
    const uint32_t l = (x >> 16) % 5;
    out.label.data.push_back(static_cast<uint8_t>(l > 2 ? 0 : l));
  }
  return out;
}

TEST(Preprocess, PercentileMatchesNumpyLinear) {
  std::vector<double> values;
  for (uint32_t x : lcg(1001, 5)) values.push_back((x % 100000) / 7.0);
  for (const auto& row : golden::kPct) {
    std::vector<double> copy = values;
    EXPECT_NEAR(percentile(copy, row[0]), row[1], 1e-9 * std::abs(row[1])) << "q " << row[0];
  }
}

TEST(Preprocess, ForegroundStatsMatchNumpy) {
  std::vector<Case> cases;
  for (const auto& c : golden::kStatsCases) cases.push_back(statsCase(c));
  std::vector<ForegroundSource> sources;
  for (const Case& c : cases) sources.push_back({&c.image, &c.label});
  const IntensityStats s = foregroundStats(sources);
  ASSERT_EQ(s.channels(), 1u);
  EXPECT_NEAR(s.mean[0], golden::kFgMean, 1e-9);
  EXPECT_NEAR(s.std[0], golden::kFgStd, 1e-9);
  EXPECT_NEAR(s.clipLow[0], golden::kFgP005, 1e-9);
  EXPECT_NEAR(s.clipHigh[0], golden::kFgP995, 1e-9);

  PreprocessOptions o;
  o.normalization = Normalization::CT;
  o.ct = s;
  Volume v = cases[0].image;
  normalizeIntensities(v, o);
  for (size_t i = 0; i < golden::kCtCase0.size(); ++i) EXPECT_NEAR(v.data[i], golden::kCtCase0[i], 2e-6) << i;
}

// Voxels holding the ignore label are unannotated, not foreground: the statistics equal
// those of the same cases with those voxels set to background.
TEST(Preprocess, ForegroundStatsLeaveOutTheIgnoreLabel) {
  std::vector<Case> cases, cleared;
  for (const auto& c : golden::kStatsCases) cases.push_back(statsCase(c));
  cleared = cases;
  for (size_t k = 0; k < cases.size(); ++k) {
    for (size_t i = 0; i < cases[k].label.data.size(); i += 3) {
      if (cases[k].label.data[i] == 0) continue;
      cases[k].label.data[i] = 9;
      cleared[k].label.data[i] = 0;
    }
  }
  std::vector<ForegroundSource> withIgnore, reference;
  for (size_t k = 0; k < cases.size(); ++k) {
    withIgnore.push_back({&cases[k].image, &cases[k].label, 9});
    reference.push_back({&cleared[k].image, &cleared[k].label});
  }
  const IntensityStats a = foregroundStats(withIgnore), b = foregroundStats(reference);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.std, b.std);
  EXPECT_EQ(a.clipLow, b.clipLow);
  EXPECT_EQ(a.clipHigh, b.clipHigh);
  EXPECT_NE(a.mean, foregroundStats({{&cases[0].image, &cases[0].label}}).mean);
}

TEST(Preprocess, ForegroundStatsNeedForeground) {
  Case c = statsCase(golden::kStatsCases[0]);
  std::fill(c.label.data.begin(), c.label.data.end(), 0);
  EXPECT_NE(test::errorOf([&] { foregroundStats({{&c.image, &c.label}}); }).find("no foreground voxels"),
            std::string::npos);
}

TEST(Preprocess, ZScoreWholeImageAndNonzeroMaskMatchNumpy) {
  const Case c = statsCase(golden::kStatsCases[0]);
  PreprocessOptions o;
  Volume whole = c.image;
  normalizeIntensities(whole, o);
  for (size_t i = 0; i < golden::kZscoreCase0.size(); ++i) EXPECT_NEAR(whole.data[i], golden::kZscoreCase0[i], 2e-6);

  Volume masked = c.image;
  const auto& g = masked.geometry;
  for (int64_t z = 0; z < g.size[2]; ++z)
    for (int64_t y = 0; y < 2; ++y)
      for (int64_t x = 0; x < g.size[0]; ++x) masked.data[test::at(g, x, y, z)] = 0.0f;
  o.nonzeroMask = true;
  normalizeIntensities(masked, o);
  for (size_t i = 0; i < golden::kZscoreMaskedCase0.size(); ++i) {
    EXPECT_NEAR(masked.data[i], golden::kZscoreMaskedCase0[i], 2e-6) << i;
  }
}

TEST(Preprocess, CtStatisticsMustMatchTheChannelCount) {
  Volume v;
  v.geometry.size = {2, 2, 2};
  v.channels = 2;
  v.data.assign(16, 1.0f);
  PreprocessOptions o;
  o.normalization = Normalization::CT;
  o.ct = {{0}, {1}, {0.5}, {1}};
  EXPECT_NE(test::errorOf([&] { normalizeIntensities(v, o, "case 'x'"); }).find("case 'x': CT normalisation has statistics for 1"),
            std::string::npos);
}

template <typename T>
void expectTarget(const T& c) {
  const auto t = medianTargetSpacing(c.spacings, c.sizes);
  for (int a = 0; a < 3; ++a) EXPECT_NEAR(t[a], c.target[a], 1e-12) << "axis " << a;
}

TEST(Preprocess, TargetSpacingFollowsNnUNetsRule) {
  expectTarget(golden::SpacingCase_Isotropic{});
  expectTarget(golden::SpacingCase_Anisotropic{});
  expectTarget(golden::SpacingCase_AnisotropicClamped{});
  expectTarget(golden::SpacingCase_AnisotropicManySlices{});
}

TEST(Resample, ResampledShapeFollowsNnUNetAndKeepsTheOuterFace) {
  for (const auto& c : golden::kShapeCases) {
    ImageGeometry g;
    g.size = c.size;
    g.spacing = c.spacing;
    g.origin = {3, -4, 5};
    g.direction = {0, -1, 0, 1, 0, 0, 0, 0, 1};
    const ImageGeometry r = resampledGeometry(g, c.target);
    EXPECT_EQ(r.size, c.expected);
    EXPECT_EQ(r.spacing, c.target);
    EXPECT_EQ(r.direction, g.direction);
    // The outer face of voxel 0 (origin - D * spacing / 2) stays in place.
    for (int row = 0; row < 3; ++row) {
      double before = g.origin[row], after = r.origin[row];
      for (int a = 0; a < 3; ++a) {
        before -= g.direction[row * 3 + a] * g.spacing[a] / 2;
        after -= r.direction[row * 3 + a] * r.spacing[a] / 2;
      }
      EXPECT_NEAR(before, after, 1e-12);
    }
  }
}

void expectOrientation(const golden::OrientCase& c) {
  Volume v;
  v.geometry.size = c.size;
  v.geometry.spacing = c.spacing;
  v.geometry.origin = c.origin;
  v.geometry.direction = c.direction;
  for (int64_t z = 0; z < c.size[2]; ++z)
    for (int64_t y = 0; y < c.size[1]; ++y)
      for (int64_t x = 0; x < c.size[0]; ++x) v.data.push_back(static_cast<float>(x + 10 * y + 100 * z));
  const Volume o = orientCanonical(v);
  EXPECT_EQ(o.geometry.size, c.outSize);
  for (int a = 0; a < 3; ++a) {
    EXPECT_NEAR(o.geometry.spacing[a], c.outSpacing[a], 1e-9);
    EXPECT_NEAR(o.geometry.origin[a], c.outOrigin[a], 1e-9);
  }
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(o.geometry.direction[i], c.outDirection[i], 1e-9) << i;
  ASSERT_EQ(o.data.size(), c.outValues.size());
  for (size_t i = 0; i < o.data.size(); ++i) EXPECT_EQ(o.data[i], c.outValues[i]) << i;
  // The header-only prediction agrees with the filter.
  const ImageGeometry predicted = canonicalGeometry(v.geometry);
  EXPECT_EQ(predicted.size, o.geometry.size);
  for (int a = 0; a < 3; ++a) EXPECT_NEAR(predicted.origin[a], o.geometry.origin[a], 1e-9);
  EXPECT_TRUE(isCanonical(o.geometry));
  EXPECT_FALSE(isCanonical(v.geometry));

  LabelVolume l;
  l.geometry = v.geometry;
  for (float x : v.data) l.data.push_back(static_cast<uint8_t>(static_cast<int>(x) % 251));
  const LabelVolume ol = orientCanonical(l);
  for (size_t i = 0; i < ol.data.size(); ++i) EXPECT_EQ(ol.data[i], static_cast<int>(c.outValues[i]) % 251);
}

TEST(Resample, OrientationMatchesNibabelForObliqueAndFlippedFiles) {
  expectOrientation(golden::kOrientObliquePermuted);
  expectOrientation(golden::kOrientRasFlipped);
}

TEST(Resample, LinearImageNearestLabelAndBackOntoTheInputGrid) {
  // A linear ramp is reproduced exactly by linear interpolation inside the volume.
  Volume v;
  v.geometry.size = {20, 12, 8};
  v.geometry.spacing = {0.5, 1.0, 3.0};
  v.geometry.origin = {1, 2, 3};
  LabelVolume l;
  l.geometry = v.geometry;
  for (int64_t z = 0; z < 8; ++z)
    for (int64_t y = 0; y < 12; ++y)
      for (int64_t x = 0; x < 20; ++x) {
        v.data.push_back(static_cast<float>(2.0 * x * 0.5 + 3.0 * z * 3.0));
        l.data.push_back(x >= 10 ? 2 : 0);
      }
  const ImageGeometry target = resampledGeometry(v.geometry, {1.0, 1.0, 1.0});
  EXPECT_EQ(target.size, (std::array<int64_t, 3>{10, 12, 24}));
  const Volume r = resampleImage(v, target);
  const LabelVolume rl = resampleLabel(l, target);
  for (int64_t z = 2; z < 22; ++z)
    for (int64_t x = 1; x < 9; ++x) {
      // Physical offset from the input's voxel 0 centre, in mm.
      const double px = target.origin[0] + x * 1.0 - v.geometry.origin[0];
      const double pz = target.origin[2] + z * 1.0 - v.geometry.origin[2];
      EXPECT_NEAR(r.data[test::at(target, x, 5, z)], 2.0 * px + 3.0 * pz, 1e-4);
    }
  for (uint8_t value : rl.data) EXPECT_TRUE(value == 0 || value == 2);  // nearest: no new values
  EXPECT_EQ(rl.data[test::at(target, 2, 0, 0)], 0);
  EXPECT_EQ(rl.data[test::at(target, 7, 0, 0)], 2);
  // Back onto the input grid: the label survives a 2x coarser x axis up to the border voxels.
  const LabelVolume back = resampleLabel(rl, v.geometry);
  EXPECT_EQ(back.data, l.data);
}

TEST(CaseLoader, PreprocessesFromFilesAndKeepsTheInputGeometry) {
  test::TempDir dir;
  Volume v;
  v.geometry.size = {6, 5, 4};
  v.geometry.spacing = {2.0, 1.0, 1.0};
  v.geometry.direction = {-1, 0, 0, 0, 1, 0, 0, 0, 1};  // x flipped: not canonical
  LabelVolume l;
  l.geometry = v.geometry;
  for (int64_t i = 0; i < v.geometry.numVoxels(); ++i) {
    v.data.push_back(static_cast<float>(i));
    l.data.push_back(i % 3 == 0 ? 1 : 0);
  }
  writeImage(v, dir.file("a_0000.nii.gz"));
  writeLabel(l, dir.file("a.nii.gz"));
  CaseEntry entry{"a", {dir.file("a_0000.nii.gz")}, dir.file("a.nii.gz")};
  PreprocessOptions o;
  o.spacing = {1.0, 1.0, 1.0};
  o.normalization = Normalization::None;
  const LoadedCase c = loadCase(entry, o, 2);
  EXPECT_EQ(c.image.geometry.size, (std::array<int64_t, 3>{12, 5, 4}));
  EXPECT_EQ(c.label.geometry.size, c.image.geometry.size);
  EXPECT_TRUE(isCanonical(c.image.geometry));
  EXPECT_TRUE(c.inputGeometry.sameGrid(v.geometry));
  EXPECT_EQ(c.inputGeometry.direction[0], -1.0);
  // Scoring on the input grid: the label is left as read.
  const LoadedCase e = loadCase(entry, o, 2, LabelGrid::Input);
  EXPECT_TRUE(e.label.geometry.sameGrid(v.geometry));
  EXPECT_EQ(e.label.data, l.data);
  EXPECT_EQ(e.image.geometry.size, c.image.geometry.size);
}

}  // namespace
}  // namespace seg
