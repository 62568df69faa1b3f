// NIfTI I/O: round trips with non-trivial geometry (in the spirit of ITK's
// itkNiftiImageIOGTest: build in memory, write, read back, compare) and the error
// messages for the inputs ITK 5.2 handles badly.
#include "data/NiftiIO.h"

#include <gtest/gtest.h>
#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkNiftiImageIO.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <filesystem>
#include <limits>

#include "core/Error.h"
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

// Writes raw bytes, gzip-compressed when the name ends in .gz.
void writeBytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  if (path.size() > 3 && path.substr(path.size() - 3) == ".gz") {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    test::writeText(path, std::string(bytes.begin(), bytes.end()));
  }
}

// A minimal single-file NIfTI-1 built byte by byte (no qform/sform, so ITK falls
// back to pixdim spacing), in either byte order.
struct RawNifti {
  bool bigEndian = false;
  int16_t datatype = 16;  // FLOAT32
  int16_t bitpix = 32;
  std::array<int16_t, 3> size{3, 2, 2};
  std::array<float, 3> spacing{1.5f, 2.0f, 3.0f};
  float slope = 0, inter = 0;
  std::vector<unsigned char> data;  // host byte order, swapped on write
};

template <typename T>
void put(std::vector<unsigned char>& out, size_t offset, T value, bool swap) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &value, sizeof(T));
  if (swap) std::reverse(b, b + sizeof(T));
  std::memcpy(out.data() + offset, b, sizeof(T));
}

std::vector<unsigned char> rawNiftiBytes(const RawNifti& r) {
  std::vector<unsigned char> out(352, 0);
  const bool swap = r.bigEndian;  // the test host is little-endian (x86-64, aarch64)
  put<int32_t>(out, 0, 348, swap);
  const int16_t dim[8] = {3, r.size[0], r.size[1], r.size[2], 1, 1, 1, 1};
  for (int i = 0; i < 8; ++i) put<int16_t>(out, 40 + 2 * i, dim[i], swap);
  put<int16_t>(out, 70, r.datatype, swap);
  put<int16_t>(out, 72, r.bitpix, swap);
  const float pixdim[8] = {1, r.spacing[0], r.spacing[1], r.spacing[2], 1, 1, 1, 1};
  for (int i = 0; i < 8; ++i) put<float>(out, 76 + 4 * i, pixdim[i], swap);
  put<float>(out, 108, 352.0f, swap);
  put<float>(out, 112, r.slope, swap);
  put<float>(out, 116, r.inter, swap);
  std::memcpy(out.data() + 344, "n+1\0", 4);
  const size_t width = static_cast<size_t>(r.bitpix / 8);
  for (size_t i = 0; i < r.data.size(); i += width) {
    std::vector<unsigned char> v(r.data.begin() + static_cast<long>(i), r.data.begin() + static_cast<long>(i + width));
    if (swap) std::reverse(v.begin(), v.end());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

template <typename T>
std::vector<unsigned char> bytesOf(const std::vector<T>& values) {
  std::vector<unsigned char> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

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

TEST(NiftiIO, NonNiftiBytesAreRejected) {
  TempDir dir;
  for (const char* name : {"junk.nii", "junk.nii.gz"}) {
    std::vector<unsigned char> bytes(400, 'x');
    writeBytes(dir.file(name), bytes);
    const std::string msg = errorOf([&] { readImageInfo(dir.file(name)); });
    EXPECT_NE(msg.find(dir.file(name)), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a NIfTI-1 file"), std::string::npos) << msg;
  }
  writeBytes(dir.file("empty.nii"), {});
  const std::string msg = errorOf([&] { readImage(dir.file("empty.nii")); });
  EXPECT_NE(msg.find("not a NIfTI file"), std::string::npos) << msg;
}

TEST(NiftiIO, TruncatedGzipIsAnErrorNotACrash) {
  TempDir dir;
  const std::string good = dir.file("good.nii.gz");
  ImageGeometry g = tiltedGeometry(40, 40, 20);
  Volume v = rampVolume(g);
  for (size_t i = 0; i < v.data.size(); ++i) v.data[i] = static_cast<float>(std::sin(i * 0.37) * 1000);
  writeImage(v, good);
  const std::string bytes = test::readText(good);
  ASSERT_GT(bytes.size(), 1000u);

  // Cut in the data: the header reads, the data does not.
  const std::string cutData = dir.file("cut_data.nii.gz");
  test::writeText(cutData, bytes.substr(0, bytes.size() / 2));
  // nifticlib zero-fills a short read, so ITK alone would return a "valid" image.
  const std::string msg = errorOf([&] { readImage(cutData); });
  EXPECT_EQ(msg.rfind(cutData + ": truncated file: ", 0), 0u) << msg;
  const std::string infoMsg = errorOf([&] { readImageInfo(cutData); });
  EXPECT_EQ(infoMsg.rfind(cutData + ": truncated file: ", 0), 0u) << infoMsg;

  // The same for an uncompressed file, and for labels.
  LabelVolume labels = test::makeLabels(30, 30, 10);
  writeLabel(labels, dir.file("lab.nii"));
  const std::string raw = test::readText(dir.file("lab.nii"));
  test::writeText(dir.file("cut.nii"), raw.substr(0, raw.size() - 100));
  const std::string labelMsg = errorOf([&] { readLabel(dir.file("cut.nii")); });
  EXPECT_EQ(labelMsg, dir.file("cut.nii") + ": truncated file: 8900 of 9000 data bytes present");

  // Damaged (not cut) compressed data: zlib's complaint, not "truncated".
  std::string damaged = bytes;
  for (size_t i = damaged.size() / 2; i < damaged.size() / 2 + 64; ++i) damaged[i] = static_cast<char>(i * 37);
  test::writeText(dir.file("damaged.nii.gz"), damaged);
  const std::string damagedMsg = errorOf([&] { readImage(dir.file("damaged.nii.gz")); });
  EXPECT_EQ(damagedMsg.rfind(dir.file("damaged.nii.gz") + ": corrupt gzip data (", 0), 0u) << damagedMsg;

  // Cut inside the header.
  const std::string cutHeader = dir.file("cut_header.nii.gz");
  test::writeText(cutHeader, bytes.substr(0, 30));
  const std::string msg2 = errorOf([&] { readImageInfo(cutHeader); });
  EXPECT_NE(msg2.find(cutHeader), std::string::npos) << msg2;
}

TEST(NiftiIO, Nifti2HeaderGetsAClearMessage) {
  TempDir dir;
  // A NIfTI-2 single-file header: sizeof_hdr = 540, magic "n+2\0\r\n\032\n" at 4,
  // then a tiny 2x2x2 uint8 volume after vox_offset 544.
  std::vector<unsigned char> bytes(544 + 8, 0);
  const int32_t sizeofHdr = 540;
  std::memcpy(bytes.data(), &sizeofHdr, 4);
  const char magic[8] = {'n', '+', '2', '\0', '\r', '\n', '\032', '\n'};
  std::memcpy(bytes.data() + 4, magic, 8);
  const int16_t datatype = 2, bitpix = 8;
  std::memcpy(bytes.data() + 12, &datatype, 2);
  std::memcpy(bytes.data() + 14, &bitpix, 2);
  const int64_t dim[8] = {3, 2, 2, 2, 1, 1, 1, 1};
  std::memcpy(bytes.data() + 16, dim, sizeof(dim));
  const int64_t voxOffset = 544;
  std::memcpy(bytes.data() + 168, &voxOffset, 8);
  for (const char* name : {"v2.nii", "v2.nii.gz"}) {
    writeBytes(dir.file(name), bytes);
    const std::string msg = errorOf([&] { readImage(dir.file(name)); });
    EXPECT_EQ(msg, dir.file(name) + ": NIfTI-2 is not supported by ITK 5.2: convert to NIfTI-1 (e.g. nibabel)");
  }
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

TEST(NiftiIO, NonFiniteImageValuesAreCounted) {
  TempDir dir;
  Volume v = rampVolume(tiltedGeometry(3, 2, 2));
  v.data[1] = std::numeric_limits<float>::quiet_NaN();
  v.data[7] = std::numeric_limits<float>::infinity();
  writeImage(v, dir.file("nan.nii.gz"));
  const std::string msg = errorOf([&] { readImage(dir.file("nan.nii.gz")); });
  EXPECT_EQ(msg, dir.file("nan.nii.gz") + ": 2 non-finite values (NaN or Inf) of 12");
  // nifticlib turns NaN into 0 on read, which would pass as background in a label map.
  const std::string labelMsg = errorOf([&] { readLabel(dir.file("nan.nii.gz")); });
  EXPECT_EQ(labelMsg, dir.file("nan.nii.gz") + ": 2 non-finite values (NaN or Inf) of 12 in a label map");
}

TEST(NiftiIO, BothByteOrdersReadTheSame) {
  TempDir dir;
  const std::vector<float> values = {0, 1.5f, -2, 3, 4, 5, 6, 7, 8, 9, 10, 11.25f};
  for (bool big : {false, true}) {
    RawNifti raw;
    raw.bigEndian = big;
    raw.data = bytesOf(values);
    const std::string path = dir.file(big ? "big.nii.gz" : "little.nii");
    writeBytes(path, rawNiftiBytes(raw));
    const Volume v = readImage(path);
    EXPECT_EQ(v.data, values) << path;
    EXPECT_NEAR(v.geometry.spacing[0], 1.5, 1e-6);
    EXPECT_NEAR(v.geometry.spacing[2], 3.0, 1e-6);

    // Our own NaN scan must honour the byte order too.
    std::vector<float> withNan = values;
    withNan[4] = std::numeric_limits<float>::quiet_NaN();
    raw.data = bytesOf(withNan);
    const std::string nanPath = dir.file(big ? "big_nan.nii.gz" : "little_nan.nii");
    writeBytes(nanPath, rawNiftiBytes(raw));
    EXPECT_EQ(errorOf([&] { readImage(nanPath); }), nanPath + ": 1 non-finite values (NaN or Inf) of 12");
  }
}

// ITK sizes the data by the datatype and counts a used dimension of 0 as 1; our
// completeness checks must read the header the same way (fuzz/regressions/nifti holds
// the fuzzed headers that asked ITK for terabytes through bitpix 0 or a dim of 0).
TEST(NiftiIO, HeaderIsJudgedByDatatypeAndEveryUsedDimension) {
  TempDir dir;
  RawNifti raw;
  raw.datatype = 4;  // INT16: 12 values, 24 bytes, none of them in the file
  raw.bitpix = 0;
  const std::string path = dir.file("bitpix0.nii");
  writeBytes(path, rawNiftiBytes(raw));
  EXPECT_EQ(errorOf([&] { readImage(path); }), path + ": truncated file: 0 of 24 data bytes present");

  RawNifti flat;
  flat.size = {3, 2, 0};
  const std::string flatPath = dir.file("dim0.nii");
  writeBytes(flatPath, rawNiftiBytes(flat));
  EXPECT_EQ(errorOf([&] { readImageInfo(flatPath); }),
            flatPath + ": invalid NIfTI header: dim[3] is 0 (each of the 3 dimensions needs at least 1 voxel)");
}

// An sform translation beyond half the float range sent ITK 5.2's float SVD into a loop
// that never returned (two fuzz findings in fuzz/regressions/nifti); offsets more than
// 1e9 mm from the origin are refused, for the sform and the qform, while a far but
// plausible origin still reads.
TEST(NiftiIO, OffsetsFarBeyondAnyScannerAreRefused) {
  TempDir dir;
  RawNifti raw;
  raw.data = bytesOf(std::vector<float>(12, 1.0f));
  const auto withSform = [&](float tx) {
    std::vector<unsigned char> bytes = rawNiftiBytes(raw);
    put<int16_t>(bytes, 254, 2, false);  // sform_code: aligned to a template
    const float srow[12] = {1.5f, 0, 0, tx, 0, 2.0f, 0, -20.0f, 0, 0, 3.0f, 7.0f};
    for (int i = 0; i < 12; ++i) put<float>(bytes, 280 + 4 * static_cast<size_t>(i), srow[i], false);
    // The same transform as a qform (identity rotation), as scanners and our writer store it.
    put<int16_t>(bytes, 252, 1, false);
    const float qoffset[3] = {tx, -20.0f, 7.0f};
    for (int i = 0; i < 3; ++i) put<float>(bytes, 268 + 4 * static_cast<size_t>(i), qoffset[i], false);
    return bytes;
  };
  const std::string far = dir.file("far.nii");
  writeBytes(far, withSform(-2.1e38f));
  EXPECT_EQ(errorOf([&] { readImageInfo(far); }),
            far + ": invalid NIfTI header: srow_x/y/z offset x is -2.1e+38 (more than 1e9 mm from the origin; code 2)");
  const std::string plausible = dir.file("plausible.nii");
  writeBytes(plausible, withSform(-1500.0f));
  const Volume v = readImage(plausible);
  // NIfTI RAS x = -1500 is LPS x = +1500 in ITK.
  EXPECT_DOUBLE_EQ(v.geometry.origin[0], 1500.0);
  EXPECT_DOUBLE_EQ(v.geometry.origin[1], 20.0);
  EXPECT_DOUBLE_EQ(v.geometry.origin[2], 7.0);

  std::vector<unsigned char> qform = rawNiftiBytes(raw);
  put<int16_t>(qform, 252, 1, false);  // qform_code: scanner
  put<float>(qform, 276, 3.0e9f, false);  // qoffset_z
  const std::string q = dir.file("qform.nii");
  writeBytes(q, qform);
  EXPECT_EQ(errorOf([&] { readImage(q); }),
            q + ": invalid NIfTI header: qoffset_x/y/z offset z is 3e+09 (more than 1e9 mm from the origin; code 1)");
}

// ITK applies scl_slope/scl_inter and reports such a file as float.
TEST(NiftiIO, ScaledIntegerFileIsReadScaled) {
  TempDir dir;
  RawNifti raw;
  raw.datatype = 4;  // INT16
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
  raw.datatype = 2;  // UINT8
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
