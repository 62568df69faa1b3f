// segtrain --folds: the fold list, the fold count of a split, fold states and folds.json.
#include "jobs/FoldRunner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/TrainConfig.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

TEST(FoldRunner, AllIsEveryFoldAndListsKeepTheirOrder) {
  EXPECT_EQ(parseFoldList("all", 3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(parseFoldList("2,0", 3), (std::vector<int>{2, 0}));
  EXPECT_EQ(parseFoldList(" 1 ", 5), (std::vector<int>{1}));
}

TEST(FoldRunner, BadListsNameTheOption) {
  const std::string usage = " (expected 'all' or fold numbers such as '0,2'; the split has 3 folds)";
  EXPECT_EQ(test::errorOf([] { parseFoldList("0,3", 3); }), "--folds: fold 3 is outside [0, 3)" + usage);
  EXPECT_EQ(test::errorOf([] { parseFoldList("1,1", 3); }), "--folds: fold 1 is listed twice");
  EXPECT_EQ(test::errorOf([] { parseFoldList("one", 3); }), "--folds: 'one' is not a fold number" + usage);
  EXPECT_EQ(test::errorOf([] { parseFoldList("-1", 3); }), "--folds: '-1' is not a fold number" + usage);
  EXPECT_EQ(test::errorOf([] { parseFoldList("", 3); }), "--folds: no folds in ''" + usage);
}

TEST(FoldRunner, FoldCountIsNumFoldsOrTheSplitFileLength) {
  test::TempDir dir;
  DataConfig data;
  data.num_folds = 4;
  EXPECT_EQ(foldCount(data), 4);
  // nnU-Net's splits_final.json: one {"train", "val"} object per fold.
  test::writeText(dir.file("splits.json"),
                  R"([{"train": ["a"], "val": ["b"]}, {"train": ["b"], "val": ["a"]}])");
  data.split_file = dir.file("splits.json");
  EXPECT_EQ(foldCount(data), 2);
  test::writeText(dir.file("bad.json"), R"({"train": []})");
  data.split_file = dir.file("bad.json");
  EXPECT_NE(test::errorOf([&] { foldCount(data); }).find("bad.json' must be a non-empty list"), std::string::npos);
  data.split_file = dir.file("missing.json");
  EXPECT_NE(test::errorOf([&] { foldCount(data); }).find("data.split_file: cannot open"), std::string::npos);
}

TEST(FoldRunner, StatesComeFromTheCheckpointsAndTheSummaryListsEveryFold) {
  test::TempDir run;
  std::filesystem::create_directories(foldDir(run.path(), 0));
  std::filesystem::create_directories(foldDir(run.path(), 1));
  test::writeText(foldDir(run.path(), 0) + "/checkpoint_latest.pt", "x");
  test::writeText(foldDir(run.path(), 0) + "/checkpoint_final.pt", "x");
  test::writeText(foldDir(run.path(), 1) + "/checkpoint_latest.pt", "x");
  EXPECT_EQ(foldDir("runs/a", 2), "runs/a/fold_2");
  EXPECT_EQ(foldState(foldDir(run.path(), 0)), FoldState::Done);
  EXPECT_EQ(foldState(foldDir(run.path(), 1)), FoldState::Started);
  EXPECT_EQ(foldState(foldDir(run.path(), 2)), FoldState::Pending);

  writeFoldSummary(run.path(), 3);
  const auto j = nlohmann::json::parse(test::readText(run.file("folds.json")));
  EXPECT_EQ(j["num_folds"], 3);
  ASSERT_EQ(j["folds"].size(), 3u);
  const std::vector<std::string> want{"done", "started", "pending"};
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(j["folds"][k]["fold"], k);
    EXPECT_EQ(j["folds"][k]["dir"], "fold_" + std::to_string(k));
    EXPECT_EQ(j["folds"][k]["status"], want[k]);
  }
}

}  // namespace
}  // namespace seg
