#include "eval/EvalJob.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/Error.h"
#include "data/NiftiIO.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::TempDir;
using test::writeText;

TEST(EvalJobDatasetLabels, ReadsNnUNetAndMsdLabelsNextToOrAboveTheFolder) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("ds/labelsTs"));
  EXPECT_EQ(findDatasetLabels(dir.file("ds/labelsTs")).numClasses, 0);  // none: fallback
  // nnU-Net v2: name -> index (a region list counts its indices).
  writeText(dir.file("ds/dataset.json"),
            R"({"labels": {"background": 0, "edema": 1, "tumour": [2, 3]}})");
  DatasetLabels l = findDatasetLabels(dir.file("ds/labelsTs"));
  EXPECT_EQ(l.numClasses, 4);
  EXPECT_EQ(l.names, (std::vector<std::string>{"background", "edema", "tumour", "tumour"}));
  EXPECT_EQ(std::filesystem::path(l.path).filename(), "dataset.json");
  // MSD: "index": name, in the labels folder itself (wins over the one above).
  writeText(dir.file("ds/labelsTs/dataset.json"), R"({"labels": {"0": "bg", "1": "a", "2": "b"}})");
  l = findDatasetLabels(dir.file("ds/labelsTs/"));
  EXPECT_EQ(l.numClasses, 3);
  EXPECT_EQ(l.names[2], "b");
  writeText(dir.file("ds/labelsTs/dataset.json"), R"({"name": "x"})");
  EXPECT_THROW(findDatasetLabels(dir.file("ds/labelsTs")), InputError);
}

LabelVolume cube(int64_t n, int64_t x0, int64_t x1, uint8_t value) {
  LabelVolume v = test::makeLabels(n, n, n);
  for (int64_t z = x0; z <= x1; ++z)
    for (int64_t y = x0; y <= x1; ++y)
      for (int64_t x = x0; x <= x1; ++x) v.data[test::at(v.geometry, x, y, z)] = value;
  return v;
}

TEST(EvalJobMetricsOnly, NumClassesFromOptionDatasetJsonOrLargestLabel) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("ds/labelsTs"));
  std::filesystem::create_directories(dir.file("pred"));
  writeLabel(cube(8, 2, 4, 1), dir.file("ds/labelsTs/case_a.nii.gz"));
  writeLabel(cube(8, 2, 5, 1), dir.file("pred/case_a.nii.gz"));
  EvalJobOptions o;
  o.predictions = dir.file("pred");
  o.labels = dir.file("ds/labelsTs");
  o.output = dir.file("out");
  EvalReport r = runEvalJob(o);
  EXPECT_EQ(r.numClasses, 2);  // largest label + 1
  ASSERT_EQ(r.cases.size(), 1u);
  EXPECT_NEAR(r.cases[0].overlap[0].dice, 2.0 * 27 / (27 + 64), 1e-12);
  EXPECT_TRUE(std::isfinite(r.cases[0].overlap[0].hd95));
  for (const char* f : {"cases.csv", "lesions.csv", "size_bins.csv", "metrics.json"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.file(std::string("out/") + f))) << f;
  }
  writeText(dir.file("ds/dataset.json"), R"({"labels": {"background": 0, "a": 1, "b": 2}})");
  r = runEvalJob(o);
  EXPECT_EQ(r.numClasses, 3);
  EXPECT_EQ(r.classNames[1], "a");
  EXPECT_TRUE(std::isnan(r.cases[0].overlap[1].dice));  // class b empty in both
  o.numClasses = 4;
  EXPECT_EQ(runEvalJob(o).numClasses, 4);
}

}  // namespace
}  // namespace seg
