// Dataset manifests: nnU-Net v2 and MSD dataset.json variants, the errors users
// hit (missing files, count mismatch, broken JSON) and the k-fold split.
#include "data/Dataset.h"
#include "data/Splits.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

#include "core/Error.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// loadDataset only lists files, so empty placeholders are enough here.
void touch(const TempDir& dir, const std::string& rel) {
  fs::create_directories(fs::path(dir.file(rel)).parent_path());
  test::writeText(dir.file(rel), "");
}

using test::errorOf;

void nnunetJson(const TempDir& dir, int numTraining) {
  test::writeText(dir.file("dataset.json"), R"({
    "channel_names": {"0": "CT", "1": "PET"},
    "labels": {"background": 0, "lesion": 1, "node": 2},
    "numTraining": )" + std::to_string(numTraining) + R"(,
    "file_ending": ".nii.gz",
    "name": "Demo"
  })");
}

void nnunetCase(const TempDir& dir, const std::string& id, const std::string& split = "Tr", bool label = true) {
  touch(dir, "images" + split + "/" + id + "_0000.nii.gz");
  touch(dir, "images" + split + "/" + id + "_0001.nii.gz");
  if (label) touch(dir, "labels" + split + "/" + id + ".nii.gz");
}

TEST(Dataset, NnUNetV2Layout) {
  TempDir dir;
  nnunetJson(dir, 3);
  for (const char* id : {"pat_10", "pat_02", "pat_1"}) nnunetCase(dir, id);
  touch(dir, "imagesTr/.pat_1_0000.tmp-12-0.nii.gz");  // an interrupted write: ignored
  touch(dir, "imagesTr/README.txt");
  nnunetCase(dir, "t_1", "Ts");
  nnunetCase(dir, "t_0", "Ts", false);

  const DatasetManifest m = loadDataset(dir.path());
  EXPECT_EQ(m.name, "Demo");
  EXPECT_EQ(m.channelNames, (std::vector<std::string>{"CT", "PET"}));
  EXPECT_EQ(m.labels, (std::map<int, std::string>{{0, "background"}, {1, "lesion"}, {2, "node"}}));
  EXPECT_EQ(m.numClasses(), 3);
  EXPECT_EQ(m.fileEnding, ".nii.gz");
  ASSERT_EQ(m.training.size(), 3u);
  EXPECT_EQ(m.training[0].id, "pat_02");
  EXPECT_EQ(m.training[1].id, "pat_1");
  EXPECT_EQ(m.training[2].id, "pat_10");
  EXPECT_EQ(m.training[1].images,
            (std::vector<std::string>{dir.file("imagesTr/pat_1_0000.nii.gz"), dir.file("imagesTr/pat_1_0001.nii.gz")}));
  EXPECT_EQ(m.training[1].label, dir.file("labelsTr/pat_1.nii.gz"));
  ASSERT_EQ(m.test.size(), 2u);
  EXPECT_EQ(m.test[0].id, "t_0");
  EXPECT_EQ(m.test[0].label, "");
  EXPECT_EQ(m.test[1].label, dir.file("labelsTs/t_1.nii.gz"));
}

TEST(Dataset, NnUNetMissingChannelOrLabelNamesTheCase) {
  {
    TempDir dir;
    nnunetJson(dir, 2);
    nnunetCase(dir, "a");
    touch(dir, "imagesTr/b_0000.nii.gz");
    touch(dir, "labelsTr/b.nii.gz");
    const std::string msg = errorOf([&] { loadDataset(dir.path()); });
    EXPECT_NE(msg.find("case b: missing channel 1"), std::string::npos) << msg;
  }
  {
    TempDir dir;
    nnunetJson(dir, 2);
    nnunetCase(dir, "a");
    nnunetCase(dir, "b", "Tr", false);
    const std::string msg = errorOf([&] { loadDataset(dir.path()); });
    EXPECT_NE(msg.find("case b: label file not found: " + dir.file("labelsTr/b.nii.gz")), std::string::npos) << msg;
  }
  {
    TempDir dir;
    nnunetJson(dir, 1);
    nnunetCase(dir, "a");
    touch(dir, "labelsTr/orphan.nii.gz");
    const std::string msg = errorOf([&] { loadDataset(dir.path()); });
    EXPECT_NE(msg.find("case orphan"), std::string::npos) << msg;
  }
}

TEST(Dataset, NumTrainingMismatch) {
  TempDir dir;
  nnunetJson(dir, 5);
  nnunetCase(dir, "a");
  nnunetCase(dir, "b");
  EXPECT_EQ(errorOf([&] { loadDataset(dir.path()); }),
            dir.file("dataset.json") + ": numTraining is 5 but 2 training cases were found");
}

TEST(Dataset, EmptyTrainingSet) {
  TempDir dir;
  nnunetJson(dir, 0);
  fs::create_directories(dir.file("imagesTr"));
  EXPECT_EQ(errorOf([&] { loadDataset(dir.path()); }), dir.file("dataset.json") + ": no training cases");
}

TEST(Dataset, InvalidOrMissingJson) {
  TempDir dir;
  EXPECT_NE(errorOf([&] { loadDataset(dir.path()); }).find(dir.file("dataset.json")), std::string::npos);
  test::writeText(dir.file("dataset.json"), "{\"labels\": {\"background\": 0,}");
  const std::string msg = errorOf([&] { loadDataset(dir.path()); });
  EXPECT_EQ(msg.rfind(dir.file("dataset.json") + ": invalid JSON: ", 0), 0u) << msg;
  test::writeText(dir.file("dataset.json"), "{\"name\": \"x\"}");
  EXPECT_NE(errorOf([&] { loadDataset(dir.path()); }).find("neither nnU-Net v2"), std::string::npos);
  EXPECT_NE(errorOf([&] { loadDataset(dir.file("absent")); }).find("not found"), std::string::npos);
}

TEST(Dataset, BadLabelsAreRejected) {
  TempDir dir;
  nnunetCase(dir, "a");
  test::writeText(dir.file("dataset.json"), R"({"channel_names": {"0": "CT", "1": "PET"},
    "labels": {"lesion": 1}, "numTraining": 1, "file_ending": ".nii.gz"})");
  EXPECT_NE(errorOf([&] { loadDataset(dir.path()); }).find("label 0 (background) is missing"), std::string::npos);
  test::writeText(dir.file("dataset.json"), R"({"channel_names": {"0": "CT", "1": "PET"},
    "labels": {"background": 0, "whole": [1, 2]}, "numTraining": 1, "file_ending": ".nii.gz"})");
  EXPECT_NE(errorOf([&] { loadDataset(dir.path()); }).find("regions_class_order: required"), std::string::npos);
  test::writeText(dir.file("dataset.json"), R"({"channel_names": {"0": "CT", "1": "PET"},
    "labels": {"background": 0, "whole": [1, 2], "core": 2, "ignore": 3}, "regions_class_order": [1, 2],
    "numTraining": 1, "file_ending": ".nii.gz"})");
  const DatasetManifest m = loadDataset(dir.path());
  ASSERT_EQ(m.regions.size(), 2u);
  EXPECT_EQ(m.regions[1].labels, (std::vector<int>{2}));
  EXPECT_EQ(m.regionsClassOrder, (std::vector<int>{1, 2}));
  EXPECT_EQ(m.ignoreLabel, 3);
  EXPECT_EQ(m.numClasses(), 3);
}

void msdJson(const TempDir& dir) {
  test::writeText(dir.file("dataset.json"), R"({
    "name": "Task01_Demo",
    "modality": {"0": "FLAIR", "1": "T1w"},
    "labels": {"0": "background", "1": "edema", "2": "tumour"},
    "numTraining": 2,
    "training": [
      {"image": "./imagesTr/b_002.nii.gz", "label": "./labelsTr/b_002.nii.gz"},
      {"image": "./imagesTr/b_001.nii.gz", "label": "./labelsTr/b_001.nii.gz"}
    ],
    "test": ["./imagesTs/b_009.nii.gz"]
  })");
}

TEST(Dataset, MsdLayoutWithFourDimensionalImages) {
  TempDir dir;
  msdJson(dir);
  for (const char* id : {"b_001", "b_002"}) {
    touch(dir, std::string("imagesTr/") + id + ".nii.gz");
    touch(dir, std::string("labelsTr/") + id + ".nii.gz");
  }
  touch(dir, "imagesTs/b_009.nii.gz");
  const DatasetManifest m = loadDataset(dir.path());
  EXPECT_EQ(m.name, "Task01_Demo");
  EXPECT_EQ(m.channelNames, (std::vector<std::string>{"FLAIR", "T1w"}));
  EXPECT_EQ(m.labels.at(2), "tumour");
  EXPECT_EQ(m.numClasses(), 3);
  ASSERT_EQ(m.training.size(), 2u);
  EXPECT_EQ(m.training[0].id, "b_001");
  EXPECT_EQ(m.training[0].images, std::vector<std::string>{dir.file("imagesTr/b_001.nii.gz")});
  EXPECT_EQ(m.training[0].label, dir.file("labelsTr/b_001.nii.gz"));
  ASSERT_EQ(m.test.size(), 1u);
  EXPECT_EQ(m.test[0].id, "b_009");
  EXPECT_EQ(m.test[0].label, "");
}

TEST(Dataset, MsdListWithPerChannelFiles) {
  // nnU-Net v1 kept the MSD list but stored x_0000, x_0001 per channel.
  TempDir dir;
  msdJson(dir);
  for (const char* id : {"b_001", "b_002"}) {
    touch(dir, std::string("imagesTr/") + id + "_0000.nii.gz");
    touch(dir, std::string("imagesTr/") + id + "_0001.nii.gz");
    touch(dir, std::string("labelsTr/") + id + ".nii.gz");
  }
  touch(dir, "imagesTs/b_009_0000.nii.gz");
  touch(dir, "imagesTs/b_009_0001.nii.gz");
  const DatasetManifest m = loadDataset(dir.path());
  EXPECT_EQ(m.training[1].images, (std::vector<std::string>{dir.file("imagesTr/b_002_0000.nii.gz"),
                                                            dir.file("imagesTr/b_002_0001.nii.gz")}));
}

TEST(Dataset, MsdMissingFilesNameTheCase) {
  TempDir dir;
  msdJson(dir);
  touch(dir, "imagesTr/b_001.nii.gz");
  touch(dir, "labelsTr/b_001.nii.gz");
  touch(dir, "imagesTr/b_002.nii.gz");
  touch(dir, "imagesTs/b_009.nii.gz");
  std::string msg = errorOf([&] { loadDataset(dir.path()); });
  EXPECT_NE(msg.find("case b_002: label file not found"), std::string::npos) << msg;
  touch(dir, "labelsTr/b_002.nii.gz");
  fs::remove(dir.file("imagesTr/b_001.nii.gz"));
  msg = errorOf([&] { loadDataset(dir.path()); });
  EXPECT_NE(msg.find("case b_001: image file not found"), std::string::npos) << msg;
}

TEST(Dataset, CaseIdFromFile) {
  EXPECT_EQ(caseIdFromFile("case_001_0000.nii.gz", true), "case_001");
  EXPECT_EQ(caseIdFromFile("case_001_0000.nii.gz", false), "case_001_0000");
  EXPECT_EQ(caseIdFromFile("/data/imagesTr/liver_7.nii", true), "liver_7");
  EXPECT_EQ(caseIdFromFile("liver_7_000.nii.gz", true), "liver_7_000");
  EXPECT_EQ(caseIdFromFile("x_0001.nii", true), "x");
}

std::vector<CaseEntry> makeCases(int n) {
  std::vector<CaseEntry> cases;
  for (int i = 0; i < n; ++i) cases.push_back({"case_" + std::to_string(100 + i), {}, ""});
  return cases;
}

std::vector<std::string> ids(const std::vector<CaseEntry>& cases) {
  std::vector<std::string> out;
  for (const auto& c : cases) out.push_back(c.id);
  return out;
}

TEST(Dataset, SplitFoldsIsDeterministicDisjointAndCovering) {
  const auto cases = makeCases(23);
  std::multiset<std::string> allVal;
  for (int fold = 0; fold < 5; ++fold) {
    const Split a = splitFolds(cases, 5, fold, 42);
    const Split b = splitFolds(cases, 5, fold, 42);
    EXPECT_EQ(ids(a.train), ids(b.train));
    EXPECT_EQ(ids(a.val), ids(b.val));
    EXPECT_EQ(a.train.size() + a.val.size(), cases.size());
    EXPECT_TRUE(a.val.size() == 4 || a.val.size() == 5) << a.val.size();
    const auto t = ids(a.train), v = ids(a.val);
    for (const auto& id : v) EXPECT_EQ(std::count(t.begin(), t.end(), id), 0) << id;
    allVal.insert(v.begin(), v.end());
  }
  // Every case is validated exactly once over the folds.
  EXPECT_EQ(allVal.size(), cases.size());
  for (const auto& c : cases) EXPECT_EQ(allVal.count(c.id), 1u) << c.id;

  // The seed matters, the caller's order does not.
  EXPECT_NE(ids(splitFolds(cases, 5, 0, 42).val), ids(splitFolds(cases, 5, 0, 43).val));
  auto reversed = cases;
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(ids(splitFolds(reversed, 5, 2, 42).val), ids(splitFolds(cases, 5, 2, 42).val));
}

TEST(Dataset, SplitFoldsGoldenForSeed) {
  // Pins the shuffle (mt19937_64 + our Fisher-Yates with rejection sampling):
  // changing it silently changes every user's folds. The expected order was
  // cross-checked with an independent Python transcription of both.
  const Split s = splitFolds(makeCases(10), 5, 0, 7);
  EXPECT_EQ(s.val.size(), 2u);
  EXPECT_EQ(ids(s.val), ids(splitFolds(makeCases(10), 5, 0, 7).val));
  std::vector<std::string> all;
  for (int f = 0; f < 5; ++f) {
    for (const auto& id : ids(splitFolds(makeCases(10), 5, f, 7).val)) all.push_back(id);
  }
  EXPECT_EQ(all, (std::vector<std::string>{"case_100", "case_101", "case_102", "case_107", "case_104", "case_108",
                                            "case_106", "case_109", "case_103", "case_105"}));
}

TEST(Dataset, SplitFoldsRejectsBadArguments) {
  const auto cases = makeCases(4);
  EXPECT_NE(errorOf([&] { splitFolds(cases, 1, 0, 1); }).find("at least 2"), std::string::npos);
  EXPECT_NE(errorOf([&] { splitFolds(cases, 3, 3, 1); }).find("fold 3 out of range"), std::string::npos);
  EXPECT_NE(errorOf([&] { splitFolds(cases, 5, 0, 1); }).find("cannot fill 5 folds"), std::string::npos);
}

TEST(Dataset, PlainCaseListResolvesPathsAndIds) {
  TempDir dir;
  touch(dir, "scans/p1_t1.nii.gz");
  touch(dir, "scans/p1_t2.nii.gz");
  touch(dir, "masks/p1.nii.gz");
  touch(dir, "scans/b_0000.nii");
  touch(dir, "scans/b_0001.nii");
  touch(dir, "masks/b.nii");
  const DatasetManifest m = manifestFromList(
      {{"zeta", {"scans/p1_t1.nii.gz", "scans/p1_t2.nii.gz"}, "masks/p1.nii.gz"},
       {"", {"scans/b_0000.nii", dir.file("scans/b_0001.nii")}, "masks/b.nii"}},
      {"background", "tumour"}, dir.path());
  ASSERT_EQ(m.training.size(), 2u);
  EXPECT_EQ(m.training[0].id, "b");  // from the first image, _0000 stripped; sorted by id
  EXPECT_EQ(m.training[0].images[0], dir.file("scans/b_0000.nii"));
  EXPECT_EQ(m.training[0].images[1], dir.file("scans/b_0001.nii"));
  EXPECT_EQ(m.training[1].id, "zeta");
  EXPECT_EQ(m.training[1].label, dir.file("masks/p1.nii.gz"));
  EXPECT_EQ(m.numClasses(), 2);
  EXPECT_EQ(m.channelNames.size(), 2u);
}

TEST(Dataset, PlainCaseListErrorsNameTheCase) {
  TempDir dir;
  touch(dir, "a.nii.gz");
  touch(dir, "a_label.nii.gz");
  touch(dir, "b.nii.gz");
  const std::vector<std::string> labels{"background", "x"};
  EXPECT_EQ(errorOf([&] { manifestFromList({{"a", {"a.nii.gz"}, "nope.nii.gz"}}, labels, dir.path()); }),
            "data.cases[0]: case a: label file not found: " + dir.file("nope.nii.gz"));
  EXPECT_EQ(errorOf([&] { manifestFromList({{"a", {"a.nii.gz", "c.nii.gz"}, "a_label.nii.gz"}}, labels, dir.path()); }),
            "data.cases[0]: case a: image file not found: " + dir.file("c.nii.gz"));
  EXPECT_NE(errorOf([&] {
              manifestFromList({{"a", {"a.nii.gz"}, "a_label.nii.gz"}, {"a", {"b.nii.gz"}, "a_label.nii.gz"}}, labels,
                               dir.path());
            }).find("case a is listed twice"),
            std::string::npos);
  EXPECT_EQ(errorOf([&] {
              manifestFromList({{"a", {"a.nii.gz"}, "a_label.nii.gz"}, {"b", {"b.nii.gz", "a.nii.gz"}, "a_label.nii.gz"}},
                               labels, dir.path());
            }),
            "data.cases[1]: case b lists 2 image file(s), case a lists 1");
  EXPECT_EQ(errorOf([&] { manifestFromList({}, labels, dir.path()); }), "data.cases: no cases");
}

TEST(Dataset, SplitFileInNnUNetForm) {
  TempDir dir;
  const auto cases = makeCases(5);  // case_100 .. case_104
  test::writeText(dir.file("splits_final.json"), R"([
    {"train": ["case_100", "case_101", "case_102"], "val": ["case_103", "case_104"]},
    {"train": ["case_103", "case_104", "case_100"], "val": ["case_101"]}
  ])");
  const Split s0 = splitFromFile(dir.file("splits_final.json"), cases, 0);
  EXPECT_EQ(ids(s0.train), (std::vector<std::string>{"case_100", "case_101", "case_102"}));
  EXPECT_EQ(ids(s0.val), (std::vector<std::string>{"case_103", "case_104"}));
  const Split s1 = splitFromFile(dir.file("splits_final.json"), cases, 1);
  EXPECT_EQ(ids(s1.train), (std::vector<std::string>{"case_100", "case_103", "case_104"}));
  EXPECT_EQ(ids(s1.val), (std::vector<std::string>{"case_101"}));  // case_102 is in neither
  const std::string file = dir.file("splits_final.json");
  EXPECT_EQ(errorOf([&] { splitFromFile(file, cases, 2); }),
            file + ": data.fold 2 is out of range: the file has 2 fold(s)");

  test::writeText(dir.file("bad.json"), R"([{"train": ["case_100", "case_999"], "val": []}])");
  EXPECT_EQ(errorOf([&] { splitFromFile(dir.file("bad.json"), cases, 0); }),
            dir.file("bad.json") + ": fold 0: train: case 'case_999' is not a training case");
  test::writeText(dir.file("twice.json"), R"([{"train": ["case_100"], "val": ["case_100"]}])");
  EXPECT_EQ(errorOf([&] { splitFromFile(dir.file("twice.json"), cases, 0); }),
            dir.file("twice.json") + ": fold 0: case 'case_100' is listed twice");
  test::writeText(dir.file("obj.json"), R"({"train": []})");
  EXPECT_NE(errorOf([&] { splitFromFile(dir.file("obj.json"), cases, 0); }).find("splits_final.json"), std::string::npos);
  EXPECT_NE(errorOf([&] { splitFromFile(dir.file("missing.json"), cases, 0); }).find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace seg
