// segeval --cv's checks before any model is loaded, and the report's cross-validation section.
// The end-to-end run is tests/integration/cv_postprocessing.sh.
#include <gtest/gtest.h>

#include <filesystem>

#include "eval/HtmlReport.h"
#include "jobs/CrossValidation.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

namespace fs = std::filesystem;
using test::errorOf;
using test::TempDir;

TEST(CrossValidation, FindsFoldFoldersInNumericOrder) {
  TempDir run;
  for (const char* d : {"fold_10", "fold_2", "fold_0", "fold_x", "folds", "fold_", "other"}) {
    fs::create_directories(run.file(d));
  }
  test::writeText(run.file("fold_3"), "a file, not a fold");
  const auto folds = findFoldDirs(run.path());
  ASSERT_EQ(folds.size(), 3u);
  EXPECT_EQ(folds[0].first, 0);
  EXPECT_EQ(folds[1].first, 2);
  EXPECT_EQ(folds[2].first, 10);
  EXPECT_EQ(folds[2].second, run.file("fold_10"));
}

TEST(CrossValidation, RunWithoutFoldsOrCheckpointsIsAnInputError) {
  TempDir run;
  EXPECT_NE(errorOf([&] { findFoldDirs(run.path()); }).find("has no fold_K folders"), std::string::npos);
  EXPECT_NE(errorOf([&] { findFoldDirs(run.file("missing")); }).find("is not a folder"), std::string::npos);
  fs::create_directories(run.file("fold_0"));
  test::writeText(run.file("fold_0/checkpoint_final.pt"), "not read before every fold is checked");
  fs::create_directories(run.file("fold_1"));
  CrossValidationOptions o;
  o.run = run.path();
  o.output = run.file("out");
  EXPECT_EQ(errorOf([&] { runCrossValidation(o); }),
            "--cv: fold folder '" + run.file("fold_1") +
                "' has no checkpoint_final.pt (has that fold finished training? --cv-checkpoint best takes "
                "checkpoint_best.pt)");
  EXPECT_FALSE(fs::exists(run.file("out")));  // nothing written before the folds are checked
  o.checkpoint = "best";
  EXPECT_NE(errorOf([&] { runCrossValidation(o); }).find(run.file("fold_0") + "' has no checkpoint_best.pt"),
            std::string::npos);
  o.checkpoint = "latest";
  EXPECT_NE(errorOf([&] { runCrossValidation(o); }).find("--cv-checkpoint"), std::string::npos);
  o.checkpoint = "final";
  o.select = "hd95";
  EXPECT_NE(errorOf([&] { runCrossValidation(o); }).find("--select"), std::string::npos);
}

LabelVolume line(std::vector<uint8_t> values) {
  LabelVolume v;
  v.geometry.size = {static_cast<int64_t>(values.size()), 1, 1};
  v.data = std::move(values);
  return v;
}

TEST(CrossValidation, HtmlSectionHasARowPerFoldAndThePooledRow) {
  EvalReport pooled;
  pooled.numClasses = 2;
  pooled.surfaceDistances = false;
  // Fold 0: Dice 2*2/(2*2+1) = 0.8; fold 1: Dice 1.
  pooled.cases.push_back(evaluateCase("a", line({1, 1, 0, 1}), line({1, 1, 0, 0}), pooled));
  pooled.cases.push_back(evaluateCase("b", line({0, 1, 1, 0}), line({0, 1, 1, 0}), pooled));
  std::vector<CrossValidationFold> folds(2);
  folds[0].fold = 0;
  folds[1].fold = 1;
  folds[0].report = folds[1].report = pooled;
  folds[0].report.cases = {pooled.cases[0]};
  folds[1].report.cases = {pooled.cases[1]};
  const std::string html = renderCrossValidationSection(folds, pooled, "<p>pp rows</p>");
  EXPECT_NE(html.find("<tr><th>fold 0</th><td>1</td><td>0.8000</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<tr><th>fold 1</th><td>1</td><td>1.0000</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<tr><th>all (pooled)</th><td>2</td><td>0.9000</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<h3>Postprocessing</h3>\n<p>pp rows</p>"), std::string::npos);

  TempDir dir;
  EXPECT_NE(errorOf([&] { appendHtmlSection(dir.path(), html); }).find("report.html"), std::string::npos);
  test::writeText(dir.file("report.html"), "<html><body><h1>x</h1></body></html>\n");
  appendHtmlSection(dir.path(), "<h2>CV</h2>");
  EXPECT_EQ(test::readText(dir.file("report.html")), "<html><body><h1>x</h1><h2>CV</h2></body></html>\n");
}

}  // namespace
}  // namespace seg
