// segdata check: cases written here with one known fault each; the expected problem
// lines are written out by hand from the geometry that was written.
#include "data/DatasetCheck.h"

#include <gtest/gtest.h>

#include "data/NiftiIO.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::TempDir;

Volume image(int64_t x, int64_t y, int64_t z) {
  Volume v;
  v.geometry.size = {x, y, z};
  v.data.assign(static_cast<size_t>(x * y * z), 1.5f);
  return v;
}

DatasetManifest oneChannelManifest() {
  DatasetManifest m;
  m.name = "Toy";
  m.channelNames = {"CT"};
  m.labels = {{0, "background"}, {1, "lesion"}};
  return m;
}

// A case "id" with one image and a label of the given volumes, written to `dir`.
CaseEntry writeCase(const TempDir& dir, const std::string& id, const Volume& img, const LabelVolume& label) {
  CaseEntry c{id, {dir.file(id + "_0000.nii.gz")}, dir.file(id + ".nii.gz")};
  writeImage(img, c.images[0]);
  writeLabel(label, c.label);
  return c;
}

TEST(DatasetCheck, AGoodCaseHasNoProblems) {
  TempDir dir;
  LabelVolume l = test::makeLabels(4, 3, 2);
  l.data[5] = 1;
  const CaseEntry c = writeCase(dir, "good", image(4, 3, 2), l);
  EXPECT_EQ(checkCase(oneChannelManifest(), c), std::vector<std::string>{});
}

TEST(DatasetCheck, LabelOnAnotherGridIsNamed) {
  TempDir dir;
  const CaseEntry c = writeCase(dir, "bigger", image(4, 3, 2), test::makeLabels(5, 3, 2));
  EXPECT_EQ(checkCase(oneChannelManifest(), c),
            std::vector<std::string>{"case bigger: " + c.label +
                                     ": label grid (5,3,2) does not match the image grid (4,3,2) "
                                     "(size, spacing, origin or direction)"});
  // Same size, other spacing: still a mismatch (the message shows sizes only).
  const CaseEntry s = writeCase(dir, "spaced", image(4, 3, 2), test::makeLabels(4, 3, 2, 2.0));
  EXPECT_EQ(checkCase(oneChannelManifest(), s),
            std::vector<std::string>{"case spaced: " + s.label +
                                     ": label grid (4,3,2) does not match the image grid (4,3,2) "
                                     "(size, spacing, origin or direction)"});
}

TEST(DatasetCheck, UndeclaredLabelValuesAreListed) {
  TempDir dir;
  LabelVolume l = test::makeLabels(4, 3, 2);
  l.data[0] = 7, l.data[1] = 2, l.data[2] = 1, l.data[3] = 7;
  const CaseEntry c = writeCase(dir, "values", image(4, 3, 2), l);
  EXPECT_EQ(checkCase(oneChannelManifest(), c),
            std::vector<std::string>{"case values: " + c.label +
                                     ": label values {2, 7} are not declared in dataset.json labels"});
}

TEST(DatasetCheck, ChannelsOnDifferentGridsAndChannelCount) {
  TempDir dir;
  DatasetManifest m = oneChannelManifest();
  m.channelNames = {"CT", "PET"};
  CaseEntry c = writeCase(dir, "two", image(4, 3, 2), test::makeLabels(4, 3, 2));
  Volume shifted = image(4, 3, 2);
  shifted.geometry.origin = {0.0, 0.0, 10.0};
  c.images.push_back(dir.file("two_0001.nii.gz"));
  writeImage(shifted, c.images[1]);
  EXPECT_EQ(checkCase(m, c), std::vector<std::string>{"case two: " + c.images[1] +
                                                      ": grid (4,3,2) differs from channel 0 (4,3,2) "
                                                      "(size, spacing, origin or direction)"});
  // One image where dataset.json declares two channels.
  c.images.pop_back();
  EXPECT_EQ(checkCase(m, c), std::vector<std::string>{"case two: 1 channel(s) but dataset.json declares 2"});
}

TEST(DatasetCheck, UnreadableFilesBecomeProblemsNotExceptions) {
  TempDir dir;
  const CaseEntry c{"gone", {dir.file("gone_0000.nii.gz")}, dir.file("gone.nii.gz")};
  // No image read: no grid and no channel-count complaint on top of the read errors.
  EXPECT_EQ(checkCase(oneChannelManifest(), c),
            (std::vector<std::string>{"case gone: image file not found: " + c.images[0],
                                      "case gone: image file not found: " + c.label}));
}

TEST(DatasetCheck, DatasetListsProblemsInCaseOrderAndCountsCases) {
  TempDir dir;
  DatasetManifest m = oneChannelManifest();
  m.training.push_back(writeCase(dir, "a", image(4, 3, 2), test::makeLabels(4, 3, 2)));
  m.training.push_back(writeCase(dir, "b", image(4, 3, 2), test::makeLabels(4, 3, 3)));
  CaseEntry unlabeled = writeCase(dir, "t", image(4, 3, 2), test::makeLabels(4, 3, 2));
  unlabeled.label.clear();
  m.test.push_back(unlabeled);
  m.test.push_back(CaseEntry{"u", {dir.file("u_0000.nii.gz")}, ""});
  const DatasetCheck result = checkDataset(m);
  EXPECT_EQ(result.casesChecked, 4u);
  ASSERT_EQ(result.problems.size(), 2u);
  EXPECT_EQ(result.problems[0].rfind("case b: " + m.training[1].label + ": label grid (4,3,3)", 0), 0u)
      << result.problems[0];
  EXPECT_EQ(result.problems[1], "case u: image file not found: " + dir.file("u_0000.nii.gz"));
}

}  // namespace
}  // namespace seg
