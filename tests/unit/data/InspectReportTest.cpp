// segdata inspect: the report of files written here (3D by segtrain's writer, 4D by ITK
// directly) and the exact text and JSON; expected values by hand.
#include "data/InspectReport.h"

#include <gtest/gtest.h>
#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkNiftiImageIO.h>

#include <nlohmann/json.hpp>

#include "core/Error.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using nlohmann::ordered_json;
using test::TempDir;

std::vector<std::string> keysOf(const ordered_json& j) {
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  return keys;
}

// 2 x 2 x 2 voxels holding -1..6: min -1, max 6, mean 2.5, all integers.
std::string writeSmallVolume(const TempDir& dir) {
  Volume v;
  v.geometry.size = {2, 2, 2};
  v.geometry.spacing = {0.5, 0.75, 2.0};
  v.geometry.origin = {1.0, -2.0, 3.5};
  v.data = {-1, 0, 1, 2, 3, 4, 5, 6};
  const std::string path = dir.file("small.nii.gz");
  writeImage(v, path);
  return path;
}

TEST(InspectReport, TextOfA3DVolume) {
  TempDir dir;
  const std::string path = writeSmallVolume(dir);
  const InspectReport r = inspectImage(path);
  EXPECT_TRUE(r.error.empty());
  ASSERT_TRUE(r.stats.has_value());
  EXPECT_EQ(inspectText(r),
            "file:        " + path + "\n"
            "dimensions:  3D, 1 channel(s)\n"
            "component:   float32\n"
            "size:        2 2 2\n"
            "spacing:     0.5 0.75 2\n"
            "origin:      1 -2 3.5\n"
            "direction:   1 0 0 / 0 1 0 / 0 0 1\n"
            "min/max/mean: -1 / 6 / 2.5\n"
            "non-finite:  0\n"
            "values:      -1 0 1 2 3 4 5 6 \n");
}

TEST(InspectReport, JsonOfA3DVolume) {
  TempDir dir;
  const std::string path = writeSmallVolume(dir);
  const std::string text = inspectJson(inspectImage(path));
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.rfind("{\n  \"path\": ", 0), 0u) << text;  // dump(2)
  const ordered_json j = ordered_json::parse(text);
  EXPECT_EQ(keysOf(j), (std::vector<std::string>{"path", "dimension", "channels", "pixel_components",
                                                 "component_type", "size", "spacing", "origin", "direction",
                                                 "min", "max", "mean", "non_finite", "integer_valued",
                                                 "distinct_values", "distinct_values_truncated"}));
  EXPECT_EQ(j["path"], path);
  EXPECT_EQ(j["dimension"], 3);
  EXPECT_EQ(j["size"], (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(j["spacing"], (std::vector<double>{0.5, 0.75, 2.0}));
  EXPECT_EQ(j["origin"], (std::vector<double>{1.0, -2.0, 3.5}));
  EXPECT_EQ(j["direction"], ordered_json::parse("[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]"));
  EXPECT_EQ(j["min"], -1.0);
  EXPECT_EQ(j["max"], 6.0);
  EXPECT_EQ(j["mean"], 2.5);
  EXPECT_EQ(j["distinct_values"], (std::vector<double>{-1, 0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(j["distinct_values_truncated"], false);
}

TEST(InspectReport, FourDimensionalSizeIsXyzt) {
  TempDir dir;
  // Written by ITK directly: (4, 3, 2) voxels x 3 volumes holding 0..71.
  using Image4 = itk::Image<float, 4>;
  auto image = Image4::New();
  Image4::SizeType size;
  size[0] = 4, size[1] = 3, size[2] = 2, size[3] = 3;
  image->SetRegions(size);
  image->Allocate();
  for (size_t i = 0; i < 72; ++i) image->GetBufferPointer()[i] = static_cast<float>(i);
  const std::string path = dir.file("four.nii.gz");
  auto writer = itk::ImageFileWriter<Image4>::New();
  writer->SetImageIO(itk::NiftiImageIO::New());
  writer->SetFileName(path);
  writer->SetInput(image);
  writer->Update();

  const InspectReport r = inspectImage(path);
  const ordered_json j = ordered_json::parse(inspectJson(r));
  EXPECT_EQ(j["dimension"], 4);
  EXPECT_EQ(j["size"], (std::vector<int64_t>{4, 3, 2, 3}));
  EXPECT_EQ(j["channels"], 3);
  // Statistics over all volumes: 0..71, mean 71 / 2; the distinct values stop at 20.
  EXPECT_EQ(j["min"], 0.0);
  EXPECT_EQ(j["max"], 71.0);
  EXPECT_EQ(j["mean"], 35.5);
  EXPECT_EQ(j["distinct_values"].size(), 20u);
  EXPECT_EQ(j["distinct_values_truncated"], true);
  // The text keeps the spatial size; the t extent is the channel count.
  const std::string text = inspectText(r);
  EXPECT_NE(text.find("dimensions:  4D, 3 channel(s)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("size:        4 3 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("values:      0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 ...\n"), std::string::npos)
      << text;
}

TEST(InspectReport, NoFiniteValuesGiveNulls) {
  InspectReport r;
  r.info.path = "x.nii";
  r.info.dimensions = 3;
  r.info.componentType = "float32";
  r.info.geometry.size = {2, 2, 2};
  VolumeStats s;
  s.nonFinite = 8;
  r.stats = s;
  const ordered_json j = ordered_json::parse(inspectJson(r));
  EXPECT_TRUE(j["min"].is_null());
  EXPECT_TRUE(j["max"].is_null());
  EXPECT_TRUE(j["mean"].is_null());
  EXPECT_EQ(j["non_finite"], 8);
  EXPECT_EQ(j["integer_valued"], false);
  EXPECT_FALSE(j.contains("distinct_values"));
  const std::string text = inspectText(r);
  EXPECT_EQ(text.find("min/max/mean"), std::string::npos) << text;
  EXPECT_NE(text.find("non-finite:  8 (NaN/Inf; training refuses this file)\n"), std::string::npos) << text;
}

TEST(InspectReport, UnreadableValuesKeepTheHeaderAndTheError) {
  TempDir dir;
  // Values that compress badly, so the damage lands in the data and not the header.
  Volume v;
  v.geometry.size = {32, 32, 16};
  uint32_t state = 12345;
  for (int64_t i = 0; i < v.geometry.numVoxels(); ++i) {
    state = state * 1664525u + 1013904223u;  // LCG: noise
    v.data.push_back(static_cast<float>(state >> 8));
  }
  writeImage(v, dir.file("good.nii.gz"));
  std::string bytes = test::readText(dir.file("good.nii.gz"));
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] = static_cast<char>(i * 37);
  const std::string path = dir.file("damaged.nii.gz");
  test::writeText(path, bytes);

  const InspectReport r = inspectImage(path);
  EXPECT_FALSE(r.stats.has_value());
  EXPECT_EQ(r.error.rfind(path + ": corrupt gzip data (", 0), 0u) << r.error;
  EXPECT_EQ(r.info.geometry.size, (std::array<int64_t, 3>{32, 32, 16}));
  const ordered_json j = ordered_json::parse(inspectJson(r));
  EXPECT_EQ(j["error"], r.error);
  EXPECT_FALSE(j.contains("min"));
  EXPECT_EQ(inspectText(r).find("non-finite"), std::string::npos);
}

TEST(InspectReport, MissingFileThrowsNamingIt) {
  TempDir dir;
  const std::string path = dir.file("absent.nii.gz");
  EXPECT_EQ(test::errorOf([&] { inspectImage(path); }), "image file not found: " + path);
}

}  // namespace
}  // namespace seg
