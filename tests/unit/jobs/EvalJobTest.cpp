#include "jobs/EvalJob.h"

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
