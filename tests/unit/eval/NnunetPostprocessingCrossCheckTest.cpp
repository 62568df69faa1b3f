// determinePostprocessing and applyPostprocessing against nnU-Net v2's own
// determine_postprocessing and remove_all_but_largest_component_from_segmentation on the small
// datasets of scripts/reference/nnunet_postprocessing_reference.py (classes, BraTS regions, an
// ignore label, equal-sized components).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "eval/Postprocessing.h"
#include "unit/eval/NnunetPostprocessingReference.h"

namespace seg {
namespace {

LabelVolume volumeOf(const char* digits) {
  LabelVolume v;
  v.geometry.size = nnunet_pp::kSize;
  for (const char* p = digits; *p; ++p) v.data.push_back(static_cast<uint8_t>(*p - '0'));
  EXPECT_EQ(static_cast<int64_t>(v.data.size()), v.geometry.numVoxels());
  return v;
}

std::string digitsOf(const LabelVolume& v) {
  std::string s;
  for (uint8_t x : v.data) s.push_back(static_cast<char>('0' + x));
  return s;
}

EvalReport settingsOf(const nnunet_pp::Scenario& s) {
  EvalReport r;
  r.numClasses = s.numClasses;
  r.encoding.regions = s.regions;
  r.encoding.regionsClassOrder = s.regionsClassOrder;
  for (size_t k = 0; k < s.regions.size(); ++k) {
    std::string name = "region ";
    name += std::to_string(k + 1);
    r.encoding.regionNames.push_back(name);
  }
  r.encoding.ignoreLabel = s.ignoreLabel;
  r.emptyRule = EmptyRule::Nan;  // nnU-Net: Dice NaN when tp + fp + fn == 0, then np.nanmean
  r.surfaceDistances = false;
  return r;
}

void expectSame(double expected, double actual, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": " << actual;
  } else {
    EXPECT_NEAR(expected, actual, 1e-12) << what;
  }
}

TEST(NnunetPostprocessing, KeepLargestForegroundMatchesNnunet) {
  for (const auto& s : nnunet_pp::scenarios()) {
    const EvalReport settings = settingsOf(s);
    for (const auto& c : s.cases) {
      LabelVolume pred = volumeOf(c.prediction);
      applyStep(pred, PostprocessingStep{"keep_largest", 0, 0.0}, settings.encoding, 26);
      EXPECT_EQ(digitsOf(pred), c.keepLargestForeground) << s.name << " " << c.id;
    }
  }
}

TEST(NnunetPostprocessing, ChoosesTheStepsNnunetChooses) {
  for (const auto& s : nnunet_pp::scenarios()) {
    SCOPED_TRACE(s.name);
    const EvalReport settings = settingsOf(s);
    PostprocessingSearch search;
    search.minSizesMm3.clear();  // nnU-Net has keep-largest steps only
    const auto load = [&](size_t i) {
      return PostprocessingCase{s.cases[i].id, volumeOf(s.cases[i].prediction), volumeOf(s.cases[i].reference)};
    };
    const Postprocessing pp = determinePostprocessing(s.cases.size(), load, settings, search);
    ASSERT_EQ(pp.steps.size(), s.steps.size());
    for (size_t k = 0; k < s.steps.size(); ++k) {
      EXPECT_EQ(pp.steps[k].kind, "keep_largest");
      EXPECT_EQ(pp.steps[k].target, s.steps[k]) << "step " << k;
    }
    expectSame(s.foregroundBefore, pp.before.foreground, "foreground before");
    expectSame(s.foregroundAfter, pp.after.foreground, "foreground after");
    ASSERT_EQ(pp.before.perClass.size(), s.diceBefore.size());
    ASSERT_EQ(pp.after.perClass.size(), s.diceAfter.size());
    for (size_t k = 0; k < s.diceBefore.size(); ++k) {
      expectSame(s.diceBefore[k], pp.before.perClass[k], "class " + std::to_string(k + 1) + " before");
      expectSame(s.diceAfter[k], pp.after.perClass[k], "class " + std::to_string(k + 1) + " after");
    }
    // nnU-Net tries "all foreground", then each class or region when there are several.
    const size_t tried = 1 + (s.numClasses > 2 ? static_cast<size_t>(s.numClasses - 1) : 0);
    EXPECT_EQ(pp.candidates.size(), tried);
    for (const auto& c : s.cases) {
      LabelVolume pred = volumeOf(c.prediction);
      applyPostprocessing(pred, pp, settings.encoding);
      EXPECT_EQ(digitsOf(pred), c.postprocessed) << c.id;
    }
  }
}

TEST(NnunetPostprocessing, ScenariosCoverEachDecision) {
  // The reference data must exercise: the foreground step applied and not, a class step, a
  // region step, and no step at all; otherwise the cross-check above proves little.
  bool foreground = false, classStep = false, regionStep = false, none = false;
  for (const auto& s : nnunet_pp::scenarios()) {
    none |= s.steps.empty();
    for (int t : s.steps) {
      foreground |= t == 0;
      classStep |= t > 0 && s.regions.empty();
      regionStep |= t > 0 && !s.regions.empty();
    }
  }
  EXPECT_TRUE(foreground && classStep && regionStep && none);
}

}  // namespace
}  // namespace seg
