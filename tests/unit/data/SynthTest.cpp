// Synthetic phantoms: determinism, lesion statistics (sizes, separation, contrast)
// and the dataset folder written for the other tools.
#include "data/Synth.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <set>

#include "core/Error.h"
#include "data/Dataset.h"
#include "data/NiftiIO.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

SynthOptions smallOptions() {
  SynthOptions o;
  o.size = {48, 40, 32};
  o.spacing = {0.8, 0.8, 2.0};
  o.maxRadius = 6;
  return o;
}

using test::errorOf;

// Sizes of the 26-connected foreground components.
std::vector<int64_t> componentSizes(const LabelVolume& l) {
  const auto& s = l.geometry.size;
  std::vector<int32_t> seen(l.data.size(), 0);
  std::vector<int64_t> sizes;
  std::vector<int64_t> stack;
  for (size_t start = 0; start < l.data.size(); ++start) {
    if (l.data[start] == 0 || seen[start]) continue;
    int64_t count = 0;
    stack.push_back(static_cast<int64_t>(start));
    seen[start] = 1;
    while (!stack.empty()) {
      const int64_t i = stack.back();
      stack.pop_back();
      ++count;
      const int64_t x = i % s[0], y = (i / s[0]) % s[1], z = i / (s[0] * s[1]);
      for (int64_t dz = -1; dz <= 1; ++dz)
        for (int64_t dy = -1; dy <= 1; ++dy)
          for (int64_t dx = -1; dx <= 1; ++dx) {
            const int64_t nx = x + dx, ny = y + dy, nz = z + dz;
            if (nx < 0 || ny < 0 || nz < 0 || nx >= s[0] || ny >= s[1] || nz >= s[2]) continue;
            const int64_t j = (nz * s[1] + ny) * s[0] + nx;
            if (l.data[j] != 0 && !seen[j]) {
              seen[j] = 1;
              stack.push_back(j);
            }
          }
    }
    sizes.push_back(count);
  }
  std::sort(sizes.begin(), sizes.end());
  return sizes;
}

TEST(Synth, SameSeedAndIndexGiveIdenticalCases) {
  const SynthOptions o = smallOptions();
  const SynthCase a = makePhantom(o, 3);
  const SynthCase b = makePhantom(o, 3);
  EXPECT_EQ(a.image.data, b.image.data);
  EXPECT_EQ(a.label.data, b.label.data);
  EXPECT_NE(a.image.data, makePhantom(o, 4).image.data);
  SynthOptions other = o;
  other.seed = 2;
  const SynthCase c = makePhantom(other, 3);
  EXPECT_NE(a.image.data, c.image.data);
  EXPECT_NE(a.label.data, c.label.data);
}

TEST(Synth, GeometryFollowsOptions) {
  const SynthOptions o = smallOptions();
  const SynthCase c = makePhantom(o, 0);
  EXPECT_EQ(c.image.geometry.size, o.size);
  EXPECT_EQ(c.image.geometry.spacing, o.spacing);
  EXPECT_TRUE(c.image.geometry.sameGrid(c.label.geometry));
  EXPECT_EQ(c.image.channels, 1);
  EXPECT_EQ(c.image.data.size(), static_cast<size_t>(48 * 40 * 32));
  EXPECT_EQ(c.label.data.size(), c.image.data.size());
  for (float v : c.image.data) ASSERT_TRUE(std::isfinite(v));
}

TEST(Synth, LesionsAreSeparateAndMatchTheLabels) {
  SynthOptions o;  // the default 96x96x64 phantom
  int64_t smallest = INT64_MAX, largest = 0;
  double minRadius = 1e9, maxRadius = 0;
  for (int index = 0; index < 6; ++index) {
    const SynthCase c = makePhantom(o, index);
    EXPECT_GE(static_cast<int>(c.lesions.size()), o.minLesions);
    EXPECT_LE(static_cast<int>(c.lesions.size()), o.maxLesions);
    std::set<uint8_t> values(c.label.data.begin(), c.label.data.end());
    for (uint8_t v : values) EXPECT_LE(v, 1);
    // One 26-connected component per lesion, with the recorded voxel counts.
    std::vector<int64_t> recorded;
    for (const auto& l : c.lesions) {
      recorded.push_back(l.voxels);
      EXPECT_GE(l.voxels, 1);
      EXPECT_GE(l.radius, o.minRadius * 0.999);
      EXPECT_LE(l.radius, o.maxRadius);
      minRadius = std::min(minRadius, l.radius);
      maxRadius = std::max(maxRadius, l.radius);
    }
    std::sort(recorded.begin(), recorded.end());
    EXPECT_EQ(componentSizes(c.label), recorded) << "case " << index;
    smallest = std::min(smallest, recorded.front());
    largest = std::max(largest, recorded.back());
  }
  // Log-uniform radii in [1, 12]: tiny and large lesions both occur.
  EXPECT_LT(minRadius, 2.0);
  EXPECT_GT(maxRadius, 6.0);
  EXPECT_LE(smallest, 20);
  EXPECT_GE(largest, 1000);
}

// Mean image value over a set of voxels.
double meanOver(const Volume& v, const std::vector<size_t>& idx) {
  double s = 0;
  for (size_t i : idx) s += v.data[i];
  return idx.empty() ? 0 : s / static_cast<double>(idx.size());
}

TEST(Synth, TinyLesionsAreHardButVisible) {
  SynthOptions o;
  o.minLesions = o.maxLesions = 10;
  std::vector<double> cnr;
  for (int index = 0; index < 8; ++index) {
    const SynthCase c = makePhantom(o, index);
    const auto& s = c.label.geometry.size;
    for (const auto& l : c.lesions) {
      if (l.radius >= 2.0) continue;
      // Lesion voxels vs. a background shell 3-5 voxels from the centre.
      std::vector<size_t> inside, shell;
      for (int64_t dz = -5; dz <= 5; ++dz)
        for (int64_t dy = -5; dy <= 5; ++dy)
          for (int64_t dx = -5; dx <= 5; ++dx) {
            const int64_t x = std::llround(l.center[0]) + dx, y = std::llround(l.center[1]) + dy,
                          z = std::llround(l.center[2]) + dz;
            if (x < 0 || y < 0 || z < 0 || x >= s[0] || y >= s[1] || z >= s[2]) continue;
            const size_t i = static_cast<size_t>((z * s[1] + y) * s[0] + x);
            const double d = std::sqrt(static_cast<double>(dx * dx + dy * dy + dz * dz));
            if (c.label.data[i] != 0 && d <= 3) inside.push_back(i);
            if (c.label.data[i] == 0 && d >= 3 && d <= 5) shell.push_back(i);
          }
      // Per-voxel contrast over the noise sigma (0.15).
      cnr.push_back((meanOver(c.image, inside) - meanOver(c.image, shell)) / 0.15);
    }
  }
  ASSERT_GE(cnr.size(), 5u);
  double mean = 0;
  for (double v : cnr) mean += v;
  mean /= static_cast<double>(cnr.size());
  EXPECT_GT(mean, 1.5);
  EXPECT_LT(mean, 6.0);
}

TEST(Synth, TwoClassesUseHypoIntenseSecondClass) {
  SynthOptions o = smallOptions();
  o.classes = 2;
  std::set<uint8_t> values;
  int hypo = 0;
  for (int index = 0; index < 6; ++index) {
    const SynthCase c = makePhantom(o, index);
    values.insert(c.label.data.begin(), c.label.data.end());
    for (const auto& l : c.lesions) {
      EXPECT_EQ(l.label == 2, l.contrast < 0);
      hypo += l.label == 2;
    }
  }
  EXPECT_EQ(values, (std::set<uint8_t>{0, 1, 2}));
  EXPECT_GT(hypo, 0);
}

TEST(Synth, InvalidOptionsNameTheOption) {
  auto check = [](const std::function<void(SynthOptions&)>& edit, const std::string& expected) {
    SynthOptions o;
    edit(o);
    TempDir dir;
    const std::string out = dir.file("never");
    const std::string msg = errorOf([&] { writeSynthDataset(o, out); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(out)) << "written despite bad options: " << msg;
  };
  check([](SynthOptions& o) { o.cases = 0; }, "cases must be at least 1");
  check([](SynthOptions& o) { o.testCases = 12; }, "test cases must be in [0, cases)");
  check([](SynthOptions& o) { o.size = {96, 8, 64}; }, "size must be between 16");
  check([](SynthOptions& o) { o.classes = 3; }, "classes must be 1 or 2");
  check([](SynthOptions& o) { o.minRadius = 0; }, "min radius must be positive");
  check([](SynthOptions& o) { o.maxRadius = 0.5; }, "max radius must be >= min radius");
  check([](SynthOptions& o) { o.spacing = {1, -1, 1}; }, "spacing must be positive");
  check([](SynthOptions& o) { o.maxLesions = 2; }, "max lesions");
}

TEST(Synth, WritesAnNnUNetDataset) {
  TempDir dir;
  SynthOptions o;
  o.cases = 3;
  o.testCases = 1;
  o.size = {24, 24, 16};
  o.maxRadius = 3;
  o.classes = 2;
  const std::string out = dir.file("synth");
  writeSynthDataset(o, out);
  for (const char* f : {"imagesTr/case_000_0000.nii.gz", "imagesTr/case_001_0000.nii.gz",
                        "labelsTr/case_000.nii.gz", "labelsTr/case_001.nii.gz", "imagesTs/case_002_0000.nii.gz",
                        "labelsTs/case_002.nii.gz", "dataset.json"}) {
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  }
  const auto doc = nlohmann::json::parse(test::readText(out + "/dataset.json"));
  EXPECT_EQ(doc["name"], "SynthLesions");
  EXPECT_EQ(doc["channel_names"]["0"], "synthetic");
  EXPECT_EQ(doc["labels"]["background"], 0);
  EXPECT_EQ(doc["labels"]["lesion"], 1);
  EXPECT_EQ(doc["labels"]["lesion_b"], 2);
  EXPECT_EQ(doc["numTraining"], 2);
  EXPECT_EQ(doc["numTest"], 1);
  EXPECT_EQ(doc["file_ending"], ".nii.gz");

  const DatasetManifest m = loadDataset(out);
  ASSERT_EQ(m.training.size(), 2u);
  ASSERT_EQ(m.test.size(), 1u);
  EXPECT_EQ(m.test[0].id, "case_002");
  EXPECT_EQ(m.numClasses(), 3);
  // The files hold exactly the phantom.
  const SynthCase expected = makePhantom(o, 1);
  const Volume image = readImage(m.training[1].images[0]);
  const LabelVolume label = readLabel(m.training[1].label);
  EXPECT_EQ(image.data, expected.image.data);
  EXPECT_EQ(label.data, expected.label.data);
  EXPECT_TRUE(image.geometry.sameGrid(expected.image.geometry));
  EXPECT_EQ(readImageInfo(m.training[1].label).componentType, "uint8");

  // A second run into the same, now non-empty folder is refused.
  EXPECT_EQ(errorOf([&] { writeSynthDataset(o, out); }), out + ": folder exists and is not empty");
}

}  // namespace
}  // namespace seg
