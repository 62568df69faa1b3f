// The ignore label is a declared label value, not a class: training's case loader and
// `segdata check` accept it, while other values above the classes stay errors.
#include <gtest/gtest.h>

#include "data/CaseLoader.h"
#include "data/DatasetCheck.h"
#include "data/NiftiIO.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::TempDir;

// A 4x3x2 case with labels 0, 1 and `extra` in one voxel each.
CaseEntry writeCase(const TempDir& dir, uint8_t extra) {
  Volume img;
  img.geometry.size = {4, 3, 2};
  img.data.assign(24, 1.5f);
  LabelVolume l = test::makeLabels(4, 3, 2);
  l.data[5] = 1;
  l.data[7] = extra;
  CaseEntry c{"c" + std::to_string(extra), {dir.file("c" + std::to_string(extra) + "_0000.nii.gz")},
              dir.file("c" + std::to_string(extra) + ".nii.gz")};
  writeImage(img, c.images[0]);
  writeLabel(l, c.label);
  return c;
}

TEST(CaseLoaderIgnoreLabel, IgnoreLabelIsAllowedOtherValuesAreNot) {
  TempDir dir;
  const CaseEntry withIgnore = writeCase(dir, 4);
  const LoadedCase c = loadCase(withIgnore, PreprocessOptions{}, LabelValues(2, 4));
  EXPECT_EQ(c.label.data[7], 4) << "the ignore value must survive loading";
  EXPECT_EQ(test::errorOf([&] { loadCase(withIgnore, PreprocessOptions{}, LabelValues(2)); }),
            "case 'c4': label '" + withIgnore.label + "' holds value 4 but the dataset declares 2 classes");
  const CaseEntry three = writeCase(dir, 3);
  EXPECT_EQ(test::errorOf([&] { loadCase(three, PreprocessOptions{}, LabelValues(2, 4)); }),
            "case 'c3': label '" + three.label + "' holds value 3 but the dataset declares 2 classes and the "
            "ignore label 4");
}

TEST(CaseLoaderIgnoreLabel, DatasetCheckDoesNotReportTheIgnoreLabel) {
  TempDir dir;
  DatasetManifest m;
  m.name = "Sparse";
  m.channelNames = {"CT"};
  m.labels = {{0, "background"}, {1, "lesion"}};
  m.ignoreLabel = 4;
  EXPECT_EQ(checkCase(m, writeCase(dir, 4)), std::vector<std::string>{});
  const CaseEntry three = writeCase(dir, 3);
  EXPECT_EQ(checkCase(m, three),
            std::vector<std::string>{"case c3: " + three.label + ": label values {3} are not declared in dataset.json labels"});
}

}  // namespace
}  // namespace seg
