// BraTS-like synthetic tumours (segdata synth --regions) and sparse annotation
// (--ignore-fraction): nested structures, two channels that tell them apart, whole
// unannotated slabs, and a dataset.json that our nnU-Net v2 parser reads back as regions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "data/DatasetLabels.h"
#include "data/Synth.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

SynthOptions tumours() {
  SynthOptions o;
  o.size = {48, 48, 32};
  o.regions = true;
  o.minRadius = 5;
  o.maxRadius = 8;
  o.minLesions = 2;
  o.maxLesions = 3;
  return o;
}

TEST(SynthRegions, NestedStructuresInTwoChannels) {
  const SynthCase c = makePhantom(tumours(), 0);
  EXPECT_EQ(c.image.channels, 2);
  ASSERT_EQ(c.image.data.size(), 2 * c.label.data.size());
  std::set<int> values(c.label.data.begin(), c.label.data.end());
  EXPECT_EQ(values, (std::set<int>{0, 1, 2, 3}));
  // Radii >= 5: the core (label 2) lies inside the rim (3) inside the oedema (1), so each
  // tumour's centre voxel is core and its outer layer oedema.
  for (const SynthLesion& l : c.lesions) {
    const auto at = [&](double x, double y, double z) {
      return c.label.data[test::at(c.label.geometry, static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y)),
                                   static_cast<int>(std::lround(z)))];
    };
    EXPECT_EQ(at(l.center[0], l.center[1], l.center[2]), 2);
  }
  // Contrast: the rim is brighter than the oedema in channel 1 (T1c-like), the oedema
  // brighter than the background organ in channel 0 (FLAIR-like).
  const size_t n = c.label.data.size();
  double sum[4][2] = {}, count[4] = {};
  for (size_t i = 0; i < n; ++i) {
    const int v = c.label.data[i];
    count[v] += 1;
    sum[v][0] += c.image.data[i];
    sum[v][1] += c.image.data[n + i];
  }
  EXPECT_GT(sum[3][1] / count[3], sum[1][1] / count[1] + 0.3);
  EXPECT_GT(sum[1][0] / count[1], sum[0][0] / count[0] + 0.3);
}

TEST(SynthRegions, IgnoreFractionMarksWholeSlabs) {
  SynthOptions o = tumours();
  o.ignoreFraction = 0.5;
  EXPECT_EQ(synthIgnoreLabel(o), 4);
  const SynthCase c = makePhantom(o, 1);
  const auto& s = c.label.geometry.size;
  const int64_t plane = s[0] * s[1];
  int ignoredSlabs = 0;
  for (int64_t z0 = 0; z0 < s[2]; z0 += 4) {
    const auto begin = c.label.data.begin() + z0 * plane, end = c.label.data.begin() + std::min(s[2], z0 + 4) * plane;
    const auto ignored = std::count(begin, end, 4);
    EXPECT_TRUE(ignored == 0 || ignored == end - begin) << "slab at z=" << z0;
    ignoredSlabs += ignored > 0 ? 1 : 0;
  }
  EXPECT_GT(ignoredSlabs, 0);
  EXPECT_LT(ignoredSlabs, 8);
  SynthOptions classes;
  classes.ignoreFraction = 0.2;
  EXPECT_EQ(synthIgnoreLabel(classes), 2);
  EXPECT_EQ(synthIgnoreLabel(SynthOptions{}), -1);
}

TEST(SynthRegions, DatasetJsonHoldsNnUNetRegions) {
  test::TempDir dir;
  SynthOptions o = tumours();
  o.size = {24, 24, 16};
  o.minRadius = 2;
  o.maxRadius = 4;
  o.cases = 2;
  o.testCases = 1;
  o.ignoreFraction = 0.3;
  const std::string out = dir.file("brats");
  writeSynthDataset(o, out);
  EXPECT_TRUE(std::filesystem::exists(out + "/imagesTr/case_000_0001.nii.gz"));
  EXPECT_TRUE(std::filesystem::exists(out + "/imagesTs/case_001_0001.nii.gz"));
  const DatasetLabels labels = findDatasetLabels(out + "/labelsTr");
  ASSERT_EQ(labels.regions.size(), 3u);
  EXPECT_EQ(labels.regions[0].name, "whole tumor");
  EXPECT_EQ(labels.regions[0].labels, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(labels.regions[1].labels, (std::vector<int>{2, 3}));
  EXPECT_EQ(labels.regions[2].labels, (std::vector<int>{3}));
  EXPECT_EQ(labels.regionsClassOrder, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(labels.ignoreLabel, 4);
}

TEST(SynthRegions, RegionsTakeOneClass) {
  SynthOptions o = tumours();
  o.classes = 2;
  EXPECT_NE(test::errorOf([&] { validateSynthOptions(o); }).find("regions"), std::string::npos);
  o = tumours();
  o.ignoreFraction = 1.0;
  EXPECT_NE(test::errorOf([&] { validateSynthOptions(o); }).find("ignore fraction"), std::string::npos);
}

}  // namespace
}  // namespace seg
