#pragma once
// A minimal single-file NIfTI-1 image written field by field through nifti1.h's
// nifti_1_header (ITK 5.2's copy, the layout ITK reads), in either byte order, for the
// tests that need headers our writer never produces: other datatypes, the other byte
// order, odd fields. Without qform/sform codes ITK falls back to pixdim spacing.
#include <nifti1.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace seg::test {

struct RawNifti {
  bool bigEndian = false;  // the test hosts are little-endian (x86-64, aarch64)
  int16_t datatype = NIFTI_TYPE_FLOAT32;
  int16_t bitpix = 32;
  std::array<int16_t, 3> size{3, 2, 2};  // dim[1..3]; dim[0] is 3
  std::array<float, 3> spacing{1.5f, 2.0f, 3.0f};
  float slope = 0, inter = 0;  // scl_slope, scl_inter
  int16_t qformCode = 0;       // NIFTI_XFORM_*; the quaternion stays 0 (no rotation)
  std::array<float, 3> qoffset{0, 0, 0};
  int16_t sformCode = 0;
  std::array<float, 12> srow{};     // srow_x, srow_y, srow_z
  std::vector<unsigned char> data;  // host byte order, swapped on write (values of bitpix/8 bytes)
};

// The 348-byte header, 4 bytes of empty extension flag, then the data (vox_offset 352).
std::vector<unsigned char> rawNiftiBytes(const RawNifti& r);

// Writes raw bytes, gzip-compressed when the name ends in .gz.
void writeBytes(const std::string& path, const std::vector<unsigned char>& bytes);

template <typename T>
std::vector<unsigned char> bytesOf(const std::vector<T>& values) {
  std::vector<unsigned char> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

}  // namespace seg::test
