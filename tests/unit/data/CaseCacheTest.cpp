// The decoded-case cache: cached == fresh, a hit really comes from the cache file, and
// a changed parameter or source file gives a rebuilt entry.
#include "data/CaseCache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "data/NiftiIO.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

namespace fs = std::filesystem;

size_t countEntries(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) n += e.path().extension() == ".segcache" ? 1 : 0;
  return n;
}

class CaseCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Volume v;
    v.geometry.size = {9, 7, 5};
    v.geometry.spacing = {1.0, 1.0, 2.0};
    v.geometry.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};  // RAS-style: reoriented on load
    v.geometry.origin = {4, 3, -2};
    LabelVolume l;
    l.geometry = v.geometry;
    for (int64_t i = 0; i < v.geometry.numVoxels(); ++i) {
      v.data.push_back(static_cast<float>(i % 17) * 0.5f);
      l.data.push_back(i % 5 == 0 ? 1 : 0);
    }
    writeImage(v, dir_.file("a_0000.nii.gz"));
    writeLabel(l, dir_.file("a.nii.gz"));
    entry_ = {"a", {dir_.file("a_0000.nii.gz")}, dir_.file("a.nii.gz")};
    options_.spacing = {1.0, 1.0, 1.0};
    options_.cacheDir = dir_.file("cache");
  }
  test::TempDir dir_;
  CaseEntry entry_;
  PreprocessOptions options_;
};

TEST_F(CaseCacheTest, CachedEqualsFreshAndIsReadFromTheFile) {
  PreprocessOptions fresh = options_;
  fresh.cacheDir.clear();
  const LoadedCase expected = loadCase(entry_, fresh, 2);
  const LoadedCase first = loadCase(entry_, options_, 2);
  EXPECT_FALSE(first.fromCache);
  ASSERT_EQ(countEntries(options_.cacheDir), 1u);
  const LoadedCase second = loadCase(entry_, options_, 2);
  EXPECT_TRUE(second.fromCache);
  for (const LoadedCase* c : {&first, &second}) {
    EXPECT_EQ(c->image.data, expected.image.data);  // normalised identically, bit for bit
    EXPECT_EQ(c->label.data, expected.label.data);
    EXPECT_TRUE(c->image.geometry.sameGrid(expected.image.geometry, 0));
    EXPECT_TRUE(c->inputGeometry.sameGrid(expected.inputGeometry, 0));
    EXPECT_EQ(c->image.channels, 1);
  }
  EXPECT_EQ(second.image.geometry.size, (std::array<int64_t, 3>{9, 7, 10}));

  // Overwrite the first cached label byte: a hit must show it (proof it is the file).
  const CacheKey key = cacheKey(options_.cacheDir, entry_, options_);
  {
    std::fstream f(key.path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-static_cast<std::streamoff>(second.label.data.size()), std::ios::end);
    const char marked = 1 - static_cast<char>(second.label.data[0]);
    f.write(&marked, 1);
  }
  EXPECT_EQ(loadCase(entry_, options_, 2).label.data[0], 1 - second.label.data[0]);
}

TEST_F(CaseCacheTest, ChangedParameterOrFileRebuilds) {
  loadCase(entry_, options_, 2);
  const CacheKey before = cacheKey(options_.cacheDir, entry_, options_);

  // Another spacing: another entry next to the first; both stay valid.
  PreprocessOptions coarse = options_;
  coarse.spacing = {2.0, 2.0, 2.0};
  const LoadedCase c = loadCase(entry_, coarse, 2);
  EXPECT_FALSE(c.fromCache);
  EXPECT_EQ(c.image.geometry.size, (std::array<int64_t, 3>{5, 4, 5}));
  EXPECT_EQ(countEntries(options_.cacheDir), 2u);
  EXPECT_TRUE(loadCase(entry_, coarse, 2).fromCache);
  EXPECT_TRUE(loadCase(entry_, options_, 2).fromCache);
  PreprocessOptions noReorient = options_;
  noReorient.reorient = false;
  EXPECT_FALSE(loadCase(entry_, noReorient, 2).fromCache);

  // Normalisation is applied after the cache: changing it still hits.
  PreprocessOptions none = options_;
  none.normalization = Normalization::None;
  EXPECT_TRUE(loadCase(entry_, none, 2).fromCache);

  // A rewritten source file (new content, new mtime): the same entry is rebuilt.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Volume v = readImage(entry_.images[0]);
  for (float& x : v.data) x += 100.0f;
  writeImage(v, entry_.images[0]);
  const CacheKey after = cacheKey(options_.cacheDir, entry_, options_);
  EXPECT_EQ(after.path, before.path);
  EXPECT_NE(after.text, before.text);
  const LoadedCase rebuilt = loadCase(entry_, none, 2);
  EXPECT_FALSE(rebuilt.fromCache);
  EXPECT_TRUE(loadCase(entry_, none, 2).fromCache);
  PreprocessOptions freshNone = none;
  freshNone.cacheDir.clear();
  EXPECT_EQ(rebuilt.image.data, loadCase(entry_, freshNone, 2).image.data);
  EXPECT_EQ(countEntries(options_.cacheDir), 3u);  // rebuilt in place, no stale copy
}

TEST_F(CaseCacheTest, DamagedEntryIsRebuiltNotAnError) {
  loadCase(entry_, options_, 2);
  const CacheKey key = cacheKey(options_.cacheDir, entry_, options_);
  fs::resize_file(key.path, fs::file_size(key.path) - 10);
  EXPECT_FALSE(readCachedCase(key, "a").has_value());
  EXPECT_FALSE(loadCase(entry_, options_, 2).fromCache);
  EXPECT_TRUE(loadCase(entry_, options_, 2).fromCache);
  // No temporary files left behind.
  for (const auto& e : fs::directory_iterator(options_.cacheDir)) {
    EXPECT_EQ(e.path().extension(), ".segcache") << e.path();
  }
}

TEST_F(CaseCacheTest, LabelValuesAreCheckedOnAHitToo) {
  loadCase(entry_, options_, 2);
  EXPECT_NE(test::errorOf([&] { loadCase(entry_, options_, 1); }).find("holds value 1 but the dataset declares 1"),
            std::string::npos);
}

}  // namespace
}  // namespace seg
