// Postprocessing steps, their selection (hand-computed Dice and lesion F1) and the JSON file.
// The nnU-Net cross-check is in NnunetPostprocessingCrossCheckTest.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "core/Error.h"
#include "eval/Postprocessing.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::errorOf;
using test::TempDir;

LabelVolume line(std::vector<uint8_t> values, double spacingX = 1.0) {
  LabelVolume v;
  v.geometry.size = {static_cast<int64_t>(values.size()), 1, 1};
  v.geometry.spacing = {spacingX, 1.0, 1.0};
  v.data = std::move(values);
  return v;
}

LabelEncoding brats() {
  LabelEncoding e;
  e.regions = {{1, 2, 3}, {2, 3}, {3}};
  e.regionNames = {"whole tumor", "tumor core", "enhancing tumor"};
  e.regionsClassOrder = {1, 2, 3};
  return e;
}

std::vector<uint8_t> applied(std::vector<uint8_t> values, const PostprocessingStep& step,
                             const LabelEncoding& encoding = {}, int connectivity = 26) {
  LabelVolume v = line(std::move(values));
  applyStep(v, step, encoding, connectivity);
  return v.data;
}

TEST(Postprocessing, RemoveSmallComparesMillimetresWithStrictLess) {
  // Voxels of 2 mm^3: components of 1, 3 and 5 voxels are 2, 6 and 10 mm^3; "below 6" keeps 6.
  LabelVolume v = line({1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1}, 2.0);
  applyStep(v, {"remove_small", 1, 6.0}, {}, 26);
  EXPECT_EQ(v.data, (std::vector<uint8_t>{0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1}));
  applyStep(v, {"remove_small", 1, 10.5}, {}, 26);
  EXPECT_EQ(v.data, (std::vector<uint8_t>(11, 0)));
}

TEST(Postprocessing, KeepLargestPerClassLeavesOtherClasses) {
  const std::vector<uint8_t> in{1, 0, 2, 2, 0, 1, 1, 0, 2};
  EXPECT_EQ(applied(in, {"keep_largest", 1, 0}), (std::vector<uint8_t>{0, 0, 2, 2, 0, 1, 1, 0, 2}));
  EXPECT_EQ(applied(in, {"keep_largest", 2, 0}), (std::vector<uint8_t>{1, 0, 2, 2, 0, 1, 1, 0, 0}));
  // All foreground: components of 1, 2, 2 and 1 voxels; both of the largest size stay.
  EXPECT_EQ(applied(in, {"keep_largest", 0, 0}), (std::vector<uint8_t>{0, 0, 2, 2, 0, 1, 1, 0, 0}));
  EXPECT_EQ(applied(in, {"remove_small", 2, 1.5}), (std::vector<uint8_t>{1, 0, 2, 2, 0, 1, 1, 0, 0}));
}

TEST(Postprocessing, RegionStepsUseEveryValueOfTheRegion) {
  // Tumour core = values {2, 3}: components {0}, {3, 4}, {6}; removed voxels become background.
  const std::vector<uint8_t> in{3, 0, 1, 2, 3, 0, 2};
  EXPECT_EQ(applied(in, {"remove_small", 2, 1.5}, brats()), (std::vector<uint8_t>{0, 0, 1, 2, 3, 0, 0}));
  EXPECT_EQ(applied(in, {"keep_largest", 2, 0}, brats()), (std::vector<uint8_t>{0, 0, 1, 2, 3, 0, 0}));
  EXPECT_EQ(applied(in, {"keep_largest", 3, 0}, brats()), (std::vector<uint8_t>{3, 0, 1, 2, 3, 0, 2}));
  EXPECT_EQ(applied(in, {"keep_largest", 1, 0}, brats()), (std::vector<uint8_t>{0, 0, 1, 2, 3, 0, 0}));
  EXPECT_NE(errorOf([&] { applied(in, {"keep_largest", 4, 0}, brats()); }).find("target: 4"), std::string::npos);
}

TEST(Postprocessing, IgnoreLabelIsNoForeground) {
  LabelEncoding e;
  e.ignoreLabel = 2;
  // Without the ignore value the 3-voxel run of 2s would be the largest component.
  EXPECT_EQ(applied({1, 1, 0, 2, 2, 2, 0, 1}, {"keep_largest", 0, 0}, e),
            (std::vector<uint8_t>{1, 1, 0, 2, 2, 2, 0, 0}));
}

TEST(Postprocessing, ConnectivityDecidesWhatTouches) {
  // In-plane (x, y) diagonal neighbours: one component with 18/26, two with 6.
  LabelVolume v;
  v.geometry.size = {3, 3, 1};
  v.data = {1, 0, 0, 0, 1, 1, 0, 0, 0};
  LabelVolume six = v, full = v;
  applyStep(six, {"keep_largest", 1, 0}, {}, 6);
  applyStep(full, {"keep_largest", 1, 0}, {}, 26);
  EXPECT_EQ(six.data, (std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 0, 0, 0}));
  EXPECT_EQ(full.data, v.data);
  EXPECT_NE(errorOf([&] { applyStep(v, {"keep_largest", 1, 0}, {}, 8); }).find("6, 18 or 26"), std::string::npos);
}

EvalReport singleClass() {
  EvalReport r;
  r.numClasses = 2;
  r.surfaceDistances = false;
  return r;
}

// Reference lesions of 10 and 4 voxels; the prediction finds both and adds three 1-voxel
// false positives. Dice 2*14/(2*14+3) = 28/31, lesion F1 2*2/(2*2+3) = 4/7.
// Keeping the largest: Dice 20/24, F1 2/3. Removing < 5 mm^3: the same as keeping the largest.
PostprocessingCase lesionCase() {
  std::vector<uint8_t> ref(40, 0);
  for (int x = 0; x < 10; ++x) ref[x] = 1;
  for (int x = 14; x < 18; ++x) ref[x] = 1;
  std::vector<uint8_t> pred = ref;
  pred[22] = pred[26] = pred[30] = 1;
  return {"case_d", line(pred), line(ref)};
}

TEST(Postprocessing, DiceCriterionKeepsWhatLesionF1WouldDrop) {
  PostprocessingSearch search;
  search.minSizesMm3 = {5.0};
  const Postprocessing pp =
      determinePostprocessing(1, [](size_t) { return lesionCase(); }, singleClass(), search);
  EXPECT_EQ(pp.criterion, "dice");
  EXPECT_TRUE(pp.steps.empty());
  EXPECT_NEAR(pp.before.perClass.at(0), 28.0 / 31.0, 1e-12);
  EXPECT_NEAR(pp.after.perClass.at(0), 28.0 / 31.0, 1e-12);
  ASSERT_EQ(pp.candidates.size(), 2u);  // one class: no per-class keep-largest (nnU-Net)
  EXPECT_NEAR(pp.candidates[0].after.foreground, 20.0 / 24.0, 1e-12);
  EXPECT_EQ(pp.candidates[1].step.kind, "remove_small");
  EXPECT_NEAR(pp.candidates[1].after.perClass.at(0), 20.0 / 24.0, 1e-12);
  EXPECT_FALSE(pp.candidates[0].applied || pp.candidates[1].applied);
}

TEST(Postprocessing, LesionF1CriterionUsesPooledDetection) {
  PostprocessingSearch search;
  search.criterion = "lesion_f1";
  search.minSizesMm3 = {5.0};
  const Postprocessing pp =
      determinePostprocessing(1, [](size_t) { return lesionCase(); }, singleClass(), search);
  EXPECT_EQ(pp.criterion, "lesion_f1");
  ASSERT_EQ(pp.steps.size(), 1u);
  EXPECT_EQ(pp.steps[0].kind, "keep_largest");
  EXPECT_EQ(pp.steps[0].target, 0);
  EXPECT_NEAR(pp.before.foreground, 4.0 / 7.0, 1e-12);
  EXPECT_NEAR(pp.after.foreground, 2.0 / 3.0, 1e-12);
  // After keeping the largest, removing < 5 mm^3 changes nothing: not applied (needs >).
  ASSERT_EQ(pp.candidates.size(), 2u);
  EXPECT_NEAR(pp.candidates[1].before.perClass.at(0), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(pp.candidates[1].after.perClass.at(0), 2.0 / 3.0, 1e-12);
  EXPECT_FALSE(pp.candidates[1].applied);
}

TEST(Postprocessing, RemoveSmallPicksTheBestSize) {
  // Case A: lesions of 4 and 2 voxels found, one 1-voxel false positive: Dice 12/13; keeping
  // the largest 8/10. Case B: one 3-voxel lesion, exact. Removing < 1.5 mm^3: Dice 1 for both;
  // < 3: case A loses the 2-voxel lesion (8/10).
  const auto load = [](size_t i) {
    if (i == 0) {
      return PostprocessingCase{"a", line({1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1}),
                                line({1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0})};
    }
    return PostprocessingCase{"b", line({0, 1, 1, 1, 0}), line({0, 1, 1, 1, 0})};
  };
  PostprocessingSearch search;
  search.minSizesMm3 = {3.0, 1.5};  // sorted before trying
  search.threads = 2;
  const Postprocessing pp = determinePostprocessing(2, load, singleClass(), search);
  EXPECT_NEAR(pp.before.foreground, (12.0 / 13.0 + 1.0) / 2.0, 1e-12);
  ASSERT_EQ(pp.steps.size(), 1u);
  EXPECT_EQ(pp.steps[0].kind, "remove_small");
  EXPECT_EQ(pp.steps[0].target, 1);
  EXPECT_EQ(pp.steps[0].minSizeMm3, 1.5);
  EXPECT_NEAR(pp.after.foreground, 1.0, 1e-12);
  ASSERT_EQ(pp.candidates.size(), 3u);
  EXPECT_NEAR(pp.candidates[0].after.foreground, (0.8 + 1.0) / 2.0, 1e-12);
  EXPECT_NEAR(pp.candidates[2].after.foreground, (0.8 + 1.0) / 2.0, 1e-12);
  EXPECT_TRUE(pp.candidates[1].applied);
  EXPECT_EQ(pp.numCases, 2);
  EXPECT_EQ(pp.numClasses, 2);
}

TEST(Postprocessing, BadSearchOptions) {
  PostprocessingSearch search;
  search.minSizesMm3 = {-1.0};
  EXPECT_NE(errorOf([&] { determinePostprocessing(1, [](size_t) { return lesionCase(); }, singleClass(), search); })
                .find("--pp-min-sizes"),
            std::string::npos);
  search.minSizesMm3 = {};
  search.criterion = "hd95";
  EXPECT_NE(errorOf([&] { determinePostprocessing(1, [](size_t) { return lesionCase(); }, singleClass(), search); })
                .find("'hd95'"),
            std::string::npos);
}

TEST(Postprocessing, JsonRoundTrip) {
  Postprocessing pp;
  pp.criterion = "lesion_f1";
  pp.connectivity = 18;
  pp.numClasses = 3;
  pp.numCases = 7;
  pp.steps = {{"keep_largest", 0, 0.0}, {"remove_small", 2, 12.5}};
  pp.before = {0.5, {0.25, std::nan("")}};
  pp.after = {0.75, {0.5, 1.0}};
  pp.candidates = {{pp.steps[0], pp.before, pp.after, true}, {pp.steps[1], pp.after, pp.after, false}};
  TempDir dir;
  writePostprocessing(pp, dir.file("postprocessing.json"));
  const Postprocessing back = readPostprocessing(dir.file("postprocessing.json"));
  EXPECT_EQ(back.criterion, "lesion_f1");
  EXPECT_EQ(back.connectivity, 18);
  EXPECT_EQ(back.numClasses, 3);
  EXPECT_EQ(back.numCases, 7);
  ASSERT_EQ(back.steps.size(), 2u);
  EXPECT_EQ(back.steps[1].kind, "remove_small");
  EXPECT_EQ(back.steps[1].target, 2);
  EXPECT_EQ(back.steps[1].minSizeMm3, 12.5);
  EXPECT_EQ(back.before.perClass.at(0), 0.25);
  EXPECT_TRUE(std::isnan(back.before.perClass.at(1)));  // null in the file
  ASSERT_EQ(back.candidates.size(), 2u);
  EXPECT_TRUE(back.candidates[0].applied);
  EXPECT_FALSE(back.candidates[1].applied);
  EXPECT_EQ(back.candidates[1].step.minSizeMm3, 12.5);
  EXPECT_EQ(postprocessingToJson(back), postprocessingToJson(pp));
}

TEST(Postprocessing, MinimalFileReads) {
  const Postprocessing pp = postprocessingFromJson(
      R"({"criterion": "dice", "connectivity": 26, "steps": [{"kind": "keep_largest", "target": 1}]})", "pp.json");
  ASSERT_EQ(pp.steps.size(), 1u);
  EXPECT_EQ(pp.steps[0].target, 1);
  EXPECT_EQ(pp.numClasses, 0);
}

TEST(Postprocessing, BadFilesNameFileAndKey) {
  TempDir dir;
  const std::string f = dir.file("pp.json");
  EXPECT_EQ(errorOf([&] { readPostprocessing(f); }), "cannot read postprocessing file '" + f + "'");
  const auto bad = [&](const std::string& text) {
    test::writeText(f, text);
    return errorOf([&] { readPostprocessing(f); });
  };
  EXPECT_EQ(bad("{\"criterion\": ").rfind(f + ": not valid JSON", 0), 0u);
  EXPECT_EQ(bad(R"({"criterion": "dice", "connectivity": 26})"), f + ": steps: missing");
  EXPECT_EQ(bad(R"({"criterion": "dice", "connectivity": 7, "steps": []})"),
            f + ": connectivity must be 6, 18 or 26, got 7");
  EXPECT_EQ(bad(R"({"criterion": "hd", "connectivity": 26, "steps": []})"),
            f + ": criterion: expected 'dice' or 'lesion_f1', got 'hd'");
  EXPECT_EQ(bad(R"({"criterion": "dice", "connectivity": 26, "steps": [{"kind": "dilate", "target": 1}]})"),
            f + ": steps[0].kind: expected 'keep_largest' or 'remove_small', got 'dilate'");
  EXPECT_EQ(bad(R"({"criterion": "dice", "connectivity": 26, "steps": [{"kind": "remove_small", "target": 1}]})"),
            f + ": steps[0].min_size_mm3: missing");
  EXPECT_EQ(bad(R"({"criterion": "dice", "connectivity": 26, "steps": [{"kind": "keep_largest", "target": "1"}]})"),
            f + ": steps[0].target: expected an integer, got \"1\"");
  EXPECT_EQ(
      bad(R"({"criterion": "dice", "connectivity": 26, "steps": [{"kind": "keep_largest", "target": 1, "size": 3}]})"),
      f + ": steps[0].size: unknown key (known: kind, min_size_mm3, target)");
  EXPECT_EQ(bad(R"({"criterion": "dice", "connectivity": 26, "steps": [], "extra": 1})").rfind(f + ": extra: unknown key", 0),
            0u);
  EXPECT_EQ(bad("[]"), f + ": expected a JSON object");
}

TEST(Postprocessing, CheckAgainstTheModel) {
  Postprocessing pp;
  pp.steps = {{"keep_largest", 3, 0.0}};
  EXPECT_EQ(errorOf([&] { checkPostprocessing(pp, 3, {}, "RUN/postprocessing.json"); }),
            "RUN/postprocessing.json: steps[0].target: 3 is not a class of the model (1..2)");
  EXPECT_EQ(errorOf([&] { checkPostprocessing(pp, 4, {}, "x"); }), "<no InputError>");
  pp.numClasses = 3;
  EXPECT_NE(errorOf([&] { checkPostprocessing(pp, 4, {}, "x"); }).find("another run"), std::string::npos);
}

TEST(Postprocessing, WriteFailureNamesThePath) {
  TempDir dir;
  const std::string path = dir.file("missing/postprocessing.json");
  EXPECT_NE(errorOf([&] { writePostprocessing(Postprocessing{}, path); }).find(path), std::string::npos);
}

TEST(Postprocessing, DescribesSteps) {
  EXPECT_EQ(describeStep({"keep_largest", 0, 0}, {}), "keep the largest component of all foreground");
  EXPECT_EQ(describeStep({"remove_small", 2, 10}, brats()),
            "remove components < 10 mm^3 of region 2 (tumor core)");
}

}  // namespace
}  // namespace seg
