// segdata plan: the text and JSON of a hand-built fingerprint and plan (every number
// below is chosen here, so the expected output is written out by hand), and planDataset
// on files written here.
#include "data/PlanReport.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/Error.h"
#include "data/NiftiIO.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using nlohmann::ordered_json;

std::vector<std::string> keysOf(const ordered_json& j) {
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  return keys;
}

PlanReport handBuiltReport() {
  PlanReport r;
  r.manifest.name = "Toy";
  r.manifest.channelNames = {"CT"};  // the second channel has no name: reported as "1"
  r.manifest.labels = {{0, "background"}, {1, "tumour"}};
  DatasetFingerprint& fp = r.fingerprint;
  fp.cases = {{"a", {1, 1, 2.5}, {10, 12, 8}}, {"b", {1, 1, 2.5}, {12, 12, 8}}};
  fp.medianSpacing = {1, 1, 2.5};
  fp.medianSize = {11, 12, 8};
  fp.intensity = {{5.5, 2, 1, 10, 1.25, 5, 9.75}, {0.125, 0.5, -1, 1, -0.75, 0, 0.875}};
  fp.sizeBins = {0, 10, 100, 1000};
  fp.classes = {{1, 3, 2, 150.0, {1, 2, 0, 0}},  // class 2 is not in labels: name ""
                {2, 0, 0, 0.0, {0, 0, 0, 0}}};
  r.plan.spacing = {1, 1, 2.5};
  r.plan.medianShape = {11, 12, 8};
  r.plan.patchSize = {16, 16, 8};
  r.plan.batchSize = 2;
  return r;
}

TEST(PlanReport, Text) {
  EXPECT_EQ(planText(handBuiltReport()),
            "Toy: 2 training cases, 2 channel(s), 2 classes\n"
            "median spacing:   1 x 1 x 2.5 mm (x y z, L P S orientation)\n"
            "median size:      11 x 12 x 8 voxels\n"
            "foreground, channel 0: mean 5.5, std 2, range [1, 10], percentiles 0.5/50/99.5: 1.25 / 5 / 9.75\n"
            "foreground, channel 1: mean 0.125, std 0.5, range [-1, 1], percentiles 0.5/50/99.5: -0.75 / 0 / 0.875\n"
            "class 1: 3 lesions in 2 cases; mm^3 bins [0-10): 1 [10-100): 2 [100-1000): 0 [1000-inf): 0\n"
            "class 2: 0 lesions in 0 cases; mm^3 bins [0-10): 0 [10-100): 0 [100-1000): 0 [1000-inf): 0\n"
            "suggested plan:\n"
            "  data.target_spacing: [1, 1, 2.5]\n"
            "  data.patch_size: [16, 16, 8]  (median shape at that spacing 11 x 12 x 8)\n"
            "  train.batch_size: 2\n");
}

TEST(PlanReport, JsonKeysAndValues) {
  const std::string text = planJson(handBuiltReport());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.rfind("{\n  \"dataset\": \"Toy\",\n  \"cases\": 2,\n", 0), 0u) << text;  // dump(2)
  const ordered_json j = ordered_json::parse(text);
  EXPECT_EQ(keysOf(j), (std::vector<std::string>{"dataset", "cases", "fingerprint", "plan"}));
  const ordered_json& f = j["fingerprint"];
  EXPECT_EQ(keysOf(f), (std::vector<std::string>{"orientation", "spacings_and_sizes", "median_spacing", "median_size",
                                                 "foreground_intensity", "classes"}));
  EXPECT_EQ(f["orientation"], "ITK identity direction (L, P, S)");
  EXPECT_EQ(f["spacings_and_sizes"][1], ordered_json::parse(R"({"id": "b", "spacing": [1.0, 1.0, 2.5], "size": [12, 12, 8]})"));
  EXPECT_EQ(f["median_size"], (std::vector<double>{11, 12, 8}));
  const ordered_json& ch = f["foreground_intensity"];
  ASSERT_EQ(ch.size(), 2u);
  EXPECT_EQ(keysOf(ch[0]), (std::vector<std::string>{"channel", "mean", "std", "min", "max", "percentile_00_5",
                                                     "median", "percentile_99_5"}));
  EXPECT_EQ(ch[0]["channel"], "CT");
  EXPECT_EQ(ch[1]["channel"], "1");
  EXPECT_EQ(ch[0]["percentile_99_5"], 9.75);
  EXPECT_EQ(ch[1]["median"], 0.0);
  const ordered_json& cls = f["classes"];
  ASSERT_EQ(cls.size(), 2u);
  EXPECT_EQ(keysOf(cls[0]), (std::vector<std::string>{"class", "name", "lesions", "cases_with_class",
                                                      "mean_lesion_mm3", "size_histogram"}));
  EXPECT_EQ(cls[0]["name"], "tumour");
  EXPECT_EQ(cls[0]["mean_lesion_mm3"], 50.0);  // 150 mm^3 / 3 lesions
  EXPECT_EQ(cls[0]["size_histogram"], ordered_json::parse(R"([{"min_mm3": 0.0, "lesions": 1},
      {"min_mm3": 10.0, "lesions": 2}, {"min_mm3": 100.0, "lesions": 0}, {"min_mm3": 1000.0, "lesions": 0}])"));
  EXPECT_EQ(cls[1]["name"], "");
  EXPECT_EQ(cls[1]["mean_lesion_mm3"], 0.0);  // no lesions: 0, not NaN
  EXPECT_EQ(j["plan"], ordered_json::parse(R"({"target_spacing": [1.0, 1.0, 2.5],
      "median_shape_at_target": [11.0, 12.0, 8.0], "patch_size": [16, 16, 8], "batch_size": 2})"));
}

TEST(PlanReport, PlanDatasetFingerprintsTheTrainingCasesOnly) {
  test::TempDir dir;
  DatasetManifest m;
  m.name = "Files";
  m.channelNames = {"CT"};
  m.labels = {{0, "background"}, {1, "lesion"}};
  Volume v;
  v.geometry.size = {16, 16, 8};
  v.geometry.spacing = {1.0, 1.0, 2.0};
  v.data.assign(16 * 16 * 8, 0.0f);
  LabelVolume l;
  l.geometry = v.geometry;
  l.data.assign(v.data.size(), 0);
  l.data[test::at(l.geometry, 3, 3, 3)] = 1;  // one one-voxel lesion of 2 mm^3
  v.data[test::at(v.geometry, 3, 3, 3)] = 4.0f;
  writeImage(v, dir.file("c_0000.nii.gz"));
  writeLabel(l, dir.file("c.nii.gz"));
  m.training.push_back({"c", {dir.file("c_0000.nii.gz")}, dir.file("c.nii.gz")});
  m.test.push_back({"t", {dir.file("missing_0000.nii.gz")}, ""});  // never read

  const PlanReport r = planDataset(m);
  ASSERT_EQ(r.fingerprint.cases.size(), 1u);
  EXPECT_EQ(r.manifest.name, "Files");
  ASSERT_EQ(r.fingerprint.classes.size(), 1u);
  EXPECT_EQ(r.fingerprint.classes[0].lesions, 1);
  EXPECT_EQ(r.fingerprint.classes[0].sizeHistogram, (std::vector<int64_t>{1, 0, 0, 0}));
  EXPECT_EQ(r.fingerprint.intensity[0].mean, 4.0);
  EXPECT_EQ(r.plan.spacing, (std::array<double, 3>{1.0, 1.0, 2.0}));
  EXPECT_EQ(r.plan.patchSize, (std::array<int64_t, 3>{16, 16, 8}));  // the median shape, multiples of 8
  // The options reach suggestPlan: a budget of 8^3 voxels shrinks x, then y, to 8
  // (z is at the divisor already).
  PlanOptions small;
  small.voxelBudget = 8 * 8 * 8;
  EXPECT_EQ(planDataset(m, small).plan.patchSize, (std::array<int64_t, 3>{8, 8, 8}));
  // A training case that cannot be read is an InputError naming the file.
  m.training.push_back({"gone", {dir.file("gone_0000.nii.gz")}, dir.file("gone.nii.gz")});
  EXPECT_NE(test::errorOf([&] { planDataset(m); }).find(dir.file("gone_0000.nii.gz")), std::string::npos);
}

}  // namespace
}  // namespace seg
