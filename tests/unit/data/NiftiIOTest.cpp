// NIfTI I/O through ITK: round trips with non-trivial geometry (in the spirit of ITK's
// itkNiftiImageIOGTest: build in memory, write, read back, compare), 4D files, scaling,
// label conversion and the file-level errors. The raw header and data-section checks
// (byte order, NIfTI-2, odd fields, truncation, NaN) are in NiftiRawHeaderTest.cpp.
#include "data/NiftiIO.h"

#include <gtest/gtest.h>
#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkNiftiImageIO.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <iterator>

#include "core/Error.h"
#include "support/RawNifti.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// A rotation (30 degrees about z, then 20 about x): orthonormal but far from identity.
ImageGeometry tiltedGeometry(int64_t x, int64_t y, int64_t z) {
  ImageGeometry g;
  g.size = {x, y, z};
  g.spacing = {0.8, 1.25, 2.5};
  g.origin = {-10.5, 20.0, 3.25};
  const double pi = std::acos(-1.0);
  const double a = 30 * pi / 180, b = 20 * pi / 180;
  const double rz[9] = {std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1};
  const double rx[9] = {1, 0, 0, 0, std::cos(b), -std::sin(b), 0, std::sin(b), std::cos(b)};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += rz[r * 3 + k] * rx[k * 3 + c];
      g.direction[r * 3 + c] = s;
    }
  return g;
}

Volume rampVolume(const ImageGeometry& g, float offset = 0) {
  Volume v;
  v.geometry = g;
  v.data.resize(static_cast<size_t>(g.numVoxels()));
  for (size_t i = 0; i < v.data.size(); ++i) v.data[i] = offset + 0.5f * static_cast<float>(i) - 7.25f;
  return v;
}

void expectGeometryNear(const ImageGeometry& a, const ImageGeometry& b) {
  EXPECT_EQ(a.size, b.size);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(a.spacing[i], b.spacing[i], 1e-5) << "spacing " << i;
    EXPECT_NEAR(a.origin[i], b.origin[i], 1e-4) << "origin " << i;
  }
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(a.direction[i], b.direction[i], 1e-5) << "direction " << i;
  EXPECT_TRUE(a.sameGrid(b));
}

using test::errorOf;
using test::RawNifti;
using test::bytesOf;
using test::rawNiftiBytes;
using test::writeBytes;

TEST(NiftiIO, ImageRoundTripKeepsGeometryAndValues) {
  TempDir dir;
  for (const char* name : {"img.nii.gz", "img.nii"}) {
    const Volume original = rampVolume(tiltedGeometry(7, 5, 4));
    writeImage(original, dir.file(name));
    const Volume back = readImage(dir.file(name));
    expectGeometryNear(back.geometry, original.geometry);
    EXPECT_EQ(back.channels, 1);
    EXPECT_EQ(back.data, original.data);
    const ImageInfo info = readImageInfo(dir.file(name));
    EXPECT_EQ(info.dimensions, 3);
    EXPECT_EQ(info.channels, 1);
    EXPECT_EQ(info.componentType, "float32");
    EXPECT_EQ(info.path, dir.file(name));
    expectGeometryNear(info.geometry, original.geometry);
  }
}

TEST(NiftiIO, LabelRoundTripIsUint8) {
  TempDir dir;
  LabelVolume labels;
  labels.geometry = tiltedGeometry(6, 4, 3);
  labels.data.resize(static_cast<size_t>(labels.geometry.numVoxels()));
  for (size_t i = 0; i < labels.data.size(); ++i) labels.data[i] = static_cast<uint8_t>((i * 37) % 256);
  writeLabel(labels, dir.file("lab.nii.gz"));
  EXPECT_EQ(readImageInfo(dir.file("lab.nii.gz")).componentType, "uint8");
  const LabelVolume back = readLabel(dir.file("lab.nii.gz"));
  expectGeometryNear(back.geometry, labels.geometry);
  EXPECT_EQ(back.data, labels.data);
  // No temporary left behind next to the result.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(NiftiIO, FloatFileWithIntegerValuesReadsAsLabel) {
  TempDir dir;
  Volume v;
  v.geometry = tiltedGeometry(3, 3, 2);
  v.data = {0, 1, 2, 0, 1, 2, 0, 1, 2, 255, 0, 0, 0, 0, 0, 0, 0, 3};
  writeImage(v, dir.file("f.nii.gz"));
  const LabelVolume l = readLabel(dir.file("f.nii.gz"));
  ASSERT_EQ(l.data.size(), v.data.size());
  for (size_t i = 0; i < v.data.size(); ++i) EXPECT_EQ(l.data[i], static_cast<uint8_t>(v.data[i]));
}

TEST(NiftiIO, FourDimensionalFileBecomesChannels) {
  TempDir dir;
  // Written by ITK directly (an independent writer): size (4, 3, 2) x 3 volumes.
  using Image4 = itk::Image<float, 4>;
  auto image = Image4::New();
  Image4::SizeType size;
  size[0] = 4, size[1] = 3, size[2] = 2, size[3] = 3;
  image->SetRegions(size);
  Image4::SpacingType spacing;
  spacing[0] = 0.7, spacing[1] = 0.9, spacing[2] = 3.0, spacing[3] = 1.0;
  image->SetSpacing(spacing);
  image->Allocate();
  const size_t n = 4 * 3 * 2 * 3;
  for (size_t i = 0; i < n; ++i) image->GetBufferPointer()[i] = static_cast<float>(i);
  const std::string path = dir.file("four.nii.gz");
  auto writer = itk::ImageFileWriter<Image4>::New();
  writer->SetImageIO(itk::NiftiImageIO::New());
  writer->SetFileName(path);
  writer->SetInput(image);
  writer->Update();

  const ImageInfo info = readImageInfo(path);
  EXPECT_EQ(info.dimensions, 4);
  EXPECT_EQ(info.channels, 3);
  const Volume v = readImage(path);
  EXPECT_EQ(v.channels, 3);
  EXPECT_EQ(v.geometry.size, (std::array<int64_t, 3>{4, 3, 2}));
  EXPECT_NEAR(v.geometry.spacing[0], 0.7, 1e-6);
  EXPECT_NEAR(v.geometry.spacing[2], 3.0, 1e-6);
  ASSERT_EQ(v.data.size(), n);
  // (channel, z, y, x) layout: channel c starts at c * 24.
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(v.data[i], static_cast<float>(i));
  EXPECT_NE(errorOf([&] { readLabel(path); }).find("must be 3D"), std::string::npos);
}

TEST(NiftiIO, MultiChannelWriteKeepsChannelZero) {
  TempDir dir;
  Volume v = rampVolume(tiltedGeometry(3, 2, 2));
  const size_t n = v.data.size();
  v.channels = 2;
  v.data.resize(2 * n, 99.0f);
  writeImage(v, dir.file("c.nii.gz"));
  const Volume back = readImage(dir.file("c.nii.gz"));
  EXPECT_EQ(back.channels, 1);
  EXPECT_EQ(back.data, std::vector<float>(v.data.begin(), v.data.begin() + static_cast<long>(n)));
}

TEST(NiftiIO, MissingFileIsNamed) {
  TempDir dir;
  const std::string path = dir.file("absent.nii.gz");
  EXPECT_EQ(errorOf([&] { readImage(path); }), "image file not found: " + path);
  EXPECT_EQ(errorOf([&] { readImageInfo(path); }), "image file not found: " + path);
  EXPECT_EQ(errorOf([&] { readLabel(path); }), "image file not found: " + path);
}

TEST(NiftiIO, WrongExtensionIsRejected) {
  TempDir dir;
  test::writeText(dir.file("scan.mha"), "ObjectType = Image\n");
  const std::string msg = errorOf([&] { readImage(dir.file("scan.mha")); });
  EXPECT_NE(msg.find(dir.file("scan.mha")), std::string::npos) << msg;
  EXPECT_NE(msg.find(".nii or .nii.gz"), std::string::npos) << msg;
}

TEST(NiftiIO, NonIntegerOrOutOfRangeLabelValueIsNamed) {
  TempDir dir;
  Volume v;
  v.geometry = tiltedGeometry(3, 2, 2);
  v.data.assign(12, 1.0f);
  v.data[5] = 1.5f;
  writeImage(v, dir.file("half.nii.gz"));
  std::string msg = errorOf([&] { readLabel(dir.file("half.nii.gz")); });
  EXPECT_NE(msg.find(dir.file("half.nii.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("label value 1.5"), std::string::npos) << msg;

  v.data[5] = 300.0f;
  writeImage(v, dir.file("big.nii.gz"));
  msg = errorOf([&] { readLabel(dir.file("big.nii.gz")); });
  EXPECT_NE(msg.find("label value 300"), std::string::npos) << msg;

  v.data[5] = -1.0f;
  writeImage(v, dir.file("neg.nii.gz"));
  msg = errorOf([&] { readLabel(dir.file("neg.nii.gz")); });
  EXPECT_NE(msg.find("label value -1"), std::string::npos) << msg;
}

// ITK applies scl_slope/scl_inter and reports such a file as float.
TEST(NiftiIO, ScaledIntegerFileIsReadScaled) {
  TempDir dir;
  RawNifti raw;
  raw.datatype = NIFTI_TYPE_INT16;
  raw.bitpix = 16;
  raw.slope = 0.5f;
  raw.inter = 1.0f;
  std::vector<int16_t> stored(12);
  for (size_t i = 0; i < stored.size(); ++i) stored[i] = static_cast<int16_t>(i * 3);
  raw.data = bytesOf(stored);
  writeBytes(dir.file("scaled.nii.gz"), rawNiftiBytes(raw));
  const Volume v = readImage(dir.file("scaled.nii.gz"));
  ASSERT_EQ(v.data.size(), stored.size());
  for (size_t i = 0; i < stored.size(); ++i) EXPECT_FLOAT_EQ(v.data[i], 0.5f * stored[i] + 1.0f);
  EXPECT_EQ(readImageInfo(dir.file("scaled.nii.gz")).componentType, "float32");
  // 0.5 * 3i + 1 is not an integer for odd i.
  EXPECT_NE(errorOf([&] { readLabel(dir.file("scaled.nii.gz")); }).find("label value 2.5"), std::string::npos);

  // A scaled uint8 file must not take readLabel's unchecked uint8 path.
  raw.datatype = NIFTI_TYPE_UINT8;
  raw.bitpix = 8;
  raw.data = std::vector<unsigned char>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  writeBytes(dir.file("scaled8.nii.gz"), rawNiftiBytes(raw));
  EXPECT_EQ(readImageInfo(dir.file("scaled8.nii.gz")).componentType, "float32");
  EXPECT_NE(errorOf([&] { readLabel(dir.file("scaled8.nii.gz")); }).find("label value 1.5"), std::string::npos);
}

// ITK 5.2 (nifticlib) asked for x.nii.gz reads a sibling x.nii when one exists.
TEST(NiftiIO, ReadsExactlyTheNamedFileDespiteSibling) {
  TempDir dir;
  writeImage(rampVolume(tiltedGeometry(4, 4, 4), 1000.0f), dir.file("x.nii"));
  const Volume gz = rampVolume(tiltedGeometry(5, 3, 2), -500.0f);
  writeImage(gz, dir.file("x.nii.gz"));

  const Volume back = readImage(dir.file("x.nii.gz"));
  EXPECT_EQ(back.geometry.size, gz.geometry.size);
  EXPECT_EQ(back.data, gz.data);
  EXPECT_EQ(readImageInfo(dir.file("x.nii.gz")).geometry.size, gz.geometry.size);
  EXPECT_EQ(readImage(dir.file("x.nii")).geometry.size, (std::array<int64_t, 3>{4, 4, 4}));
}

TEST(NiftiIO, FailedWriteNamesPathAndLeavesNothing) {
  TempDir dir;
  const Volume v = rampVolume(tiltedGeometry(3, 3, 3));
  const std::string missingDir = dir.file("nope/x.nii.gz");
  std::string msg = errorOf([&] { writeImage(v, missingDir); });
  EXPECT_NE(msg.find(missingDir), std::string::npos) << msg;

  // The target is a non-empty folder: the rename fails after a successful write.
  fs::create_directories(dir.file("occupied.nii.gz/inner"));
  msg = errorOf([&] { writeImage(v, dir.file("occupied.nii.gz")); });
  EXPECT_NE(msg.find(dir.file("occupied.nii.gz")), std::string::npos) << msg;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string(), "occupied.nii.gz") << "left behind: " << entry.path();
  }
  EXPECT_NE(errorOf([&] { writeImage(v, dir.file("x.png")); }).find(".nii or .nii.gz"), std::string::npos);
}

}  // namespace
}  // namespace seg
