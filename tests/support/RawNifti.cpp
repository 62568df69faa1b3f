#include "support/RawNifti.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>

#include "support/TestUtil.h"

namespace seg::test {

static_assert(sizeof(nifti_1_header) == 348, "nifti_1_header must match the 348-byte NIfTI-1 layout");

namespace {

template <typename T>
void swapBytes(T& value) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &value, sizeof(T));
  std::reverse(b, b + sizeof(T));
  std::memcpy(&value, b, sizeof(T));
}

template <typename T, size_t N>
void swapBytes(T (&values)[N]) {
  for (T& v : values) swapBytes(v);
}

// Every field rawNiftiBytes sets (the rest are 0 in either order).
void swapSetFields(nifti_1_header& h) {
  swapBytes(h.sizeof_hdr);
  swapBytes(h.dim);
  swapBytes(h.datatype);
  swapBytes(h.bitpix);
  swapBytes(h.pixdim);
  swapBytes(h.vox_offset);
  swapBytes(h.scl_slope);
  swapBytes(h.scl_inter);
  swapBytes(h.qform_code);
  swapBytes(h.sform_code);
  for (float* v : {&h.quatern_b, &h.quatern_c, &h.quatern_d, &h.qoffset_x, &h.qoffset_y, &h.qoffset_z}) swapBytes(*v);
  swapBytes(h.srow_x);
  swapBytes(h.srow_y);
  swapBytes(h.srow_z);
}

}  // namespace

std::vector<unsigned char> rawNiftiBytes(const RawNifti& r) {
  nifti_1_header h;
  std::memset(&h, 0, sizeof(h));
  h.sizeof_hdr = sizeof(nifti_1_header);
  const short dim[8] = {3, r.size[0], r.size[1], r.size[2], 1, 1, 1, 1};
  std::copy(dim, dim + 8, h.dim);
  h.datatype = r.datatype;
  h.bitpix = r.bitpix;
  const float pixdim[8] = {1, r.spacing[0], r.spacing[1], r.spacing[2], 1, 1, 1, 1};
  std::copy(pixdim, pixdim + 8, h.pixdim);
  h.vox_offset = 352.0f;
  h.scl_slope = r.slope;
  h.scl_inter = r.inter;
  h.qform_code = r.qformCode;
  h.qoffset_x = r.qoffset[0];
  h.qoffset_y = r.qoffset[1];
  h.qoffset_z = r.qoffset[2];
  h.sform_code = r.sformCode;
  std::copy(r.srow.begin(), r.srow.begin() + 4, h.srow_x);
  std::copy(r.srow.begin() + 4, r.srow.begin() + 8, h.srow_y);
  std::copy(r.srow.begin() + 8, r.srow.end(), h.srow_z);
  std::memcpy(h.magic, "n+1\0", 4);
  if (r.bigEndian) swapSetFields(h);

  std::vector<unsigned char> out(352, 0);  // the header, then a zero extension flag
  std::memcpy(out.data(), &h, sizeof(h));
  const size_t width = static_cast<size_t>(std::max(1, r.bitpix / 8));
  for (size_t i = 0; i + width <= r.data.size(); i += width) {
    std::vector<unsigned char> v(r.data.begin() + static_cast<long>(i), r.data.begin() + static_cast<long>(i + width));
    if (r.bigEndian) std::reverse(v.begin(), v.end());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

void writeBytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  if (path.size() > 3 && path.substr(path.size() - 3) == ".gz") {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr) << path;
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    writeText(path, std::string(bytes.begin(), bytes.end()));
  }
}

}  // namespace seg::test
