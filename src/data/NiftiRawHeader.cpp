// Raw NIfTI-1 header and data-section checks (see NiftiRawHeader.h).
#include "data/NiftiRawHeader.h"

// nifti1.h as ITK 5.2 ships it (its include directory), the layout ITK reads through.
#include <itk_zlib.h>
#include <nifti1.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/Error.h"

namespace seg::nifti {
namespace fs = std::filesystem;

static_assert(sizeof(nifti_1_header) == 348, "nifti_1_header must match the 348-byte NIfTI-1 layout");
static_assert(offsetof(nifti_1_header, magic) == 344, "nifti_1_header must not be padded");

bool endsWithNoCase(const std::string& text, const std::string& suffix) {
  if (text.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), text.rbegin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

bool RawHeader::isFloat() const { return datatype == NIFTI_TYPE_FLOAT32 || datatype == NIFTI_TYPE_FLOAT64; }

namespace {

// Reverses the bytes of one field (bit for bit: a NaN keeps its payload and sign).
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

// The fields readRawHeader looks at, into our byte order (sizeof_hdr and dim[0] are
// judged raw, before this).
void swapUsedFields(nifti_1_header& hdr) {
  swapBytes(hdr.dim);
  swapBytes(hdr.datatype);
  swapBytes(hdr.bitpix);
  swapBytes(hdr.pixdim);
  swapBytes(hdr.vox_offset);
  swapBytes(hdr.qform_code);
  swapBytes(hdr.sform_code);
  for (float* v : {&hdr.quatern_b, &hdr.quatern_c, &hdr.quatern_d, &hdr.qoffset_x, &hdr.qoffset_y, &hdr.qoffset_z}) {
    swapBytes(*v);
  }
  swapBytes(hdr.srow_x);
  swapBytes(hdr.srow_y);
  swapBytes(hdr.srow_z);
}

// Bytes per value of a NIfTI-1 datatype; 0 for a code ITK does not know. ITK sizes its
// buffer from the datatype, never from bitpix, so the completeness checks must too
// (fuzzed headers with bitpix 0 or 3 slipped past them).
int datatypeBytes(int16_t datatype) {
  switch (datatype) {
    case NIFTI_TYPE_UINT8: case NIFTI_TYPE_INT8: return 1;
    case NIFTI_TYPE_INT16: case NIFTI_TYPE_UINT16: return 2;
    case NIFTI_TYPE_INT32: case NIFTI_TYPE_FLOAT32: case NIFTI_TYPE_UINT32: return 4;
    case NIFTI_TYPE_FLOAT64: case NIFTI_TYPE_INT64: case NIFTI_TYPE_UINT64: case NIFTI_TYPE_COMPLEX64: return 8;
    case NIFTI_TYPE_RGB24: return 3;
    case NIFTI_TYPE_RGBA32: return 4;
    case NIFTI_TYPE_FLOAT128: case NIFTI_TYPE_COMPLEX128: return 16;
    case NIFTI_TYPE_COMPLEX256: return 32;
    default: return 0;
  }
}

}  // namespace

// Looks at the raw header before ITK does: ITK 5.2 fails on a NIfTI-2 file, random
// bytes and a cut-off header alike with a generic "could not read" that tells the
// user nothing. gzread reads plain files transparently, so this covers .nii too.
RawHeader readRawHeader(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw InputError(path + ": cannot open file");
  unsigned char bytes[sizeof(nifti_1_header)] = {};
  const int got = gzread(file, bytes, sizeof(bytes));
  gzclose(file);
  if (got < 0) throw InputError(path + ": corrupt or truncated gzip data in the header");
  if (got < 4) throw InputError(path + ": not a NIfTI file (only " + std::to_string(got) + " bytes)");
  nifti_1_header hdr;
  std::memcpy(&hdr, bytes, sizeof(hdr));
  const auto sizeofHdr = static_cast<uint32_t>(hdr.sizeof_hdr);
  uint32_t swappedSizeofHdr = sizeofHdr;
  swapBytes(swappedSizeofHdr);
  if (sizeofHdr == 540 || swappedSizeofHdr == 540) {  // sizeof(nifti_2_header)
    throw InputError(path + ": NIfTI-2 is not supported by ITK 5.2: convert to NIfTI-1 (e.g. nibabel)");
  }
  if (sizeofHdr != sizeof(nifti_1_header) && swappedSizeofHdr != sizeof(nifti_1_header)) {
    throw InputError(path + ": not a NIfTI-1 file (header size field is " + std::to_string(sizeofHdr) +
                     ", expected 348)");
  }
  if (got < static_cast<int>(sizeof(nifti_1_header))) {
    throw InputError(path + ": truncated NIfTI header (" + std::to_string(got) + " of 348 bytes)");
  }
  if (std::memcmp(hdr.magic, "n+1\0", 4) != 0) {
    throw InputError(path + ": not a single-file NIfTI-1 image (magic is not \"n+1\")");
  }
  RawHeader h;
  // The byte order as nifticlib (which ITK reads through) decides it in need_nhdr_swap:
  // the order in which dim[0] is 1..7; sizeof_hdr only when dim[0] is 0. Deciding by
  // sizeof_hdr alone read some fields in the other order than ITK does (a fuzzed header
  // with a finite sform for us and a NaN one for ITK, whose vnl then called abort()).
  const int16_t dim0 = hdr.dim[0];
  int16_t swappedDim0 = dim0;
  swapBytes(swappedDim0);
  if (dim0 == 0) {
    h.swapped = sizeofHdr != sizeof(nifti_1_header);
  } else if (dim0 >= 1 && dim0 <= 7) {
    h.swapped = false;
  } else if (swappedDim0 >= 1 && swappedDim0 <= 7) {
    h.swapped = true;
  } else {
    throw InputError(path + ": invalid NIfTI header: dim[0] is " + std::to_string(dim0) +
                     " (1..7 expected in either byte order)");
  }
  if (h.swapped) swapUsedFields(hdr);
  const short* dim = hdr.dim;
  const float voxOffset = hdr.vox_offset;
  h.datatype = hdr.datatype;
  h.bytesPerValue = datatypeBytes(h.datatype);
  // Checks below were found by fuzz/nifti_fuzzer (inputs kept in fuzz/regressions/nifti).
  // A float -> integer conversion of an out-of-range vox_offset is undefined behaviour.
  if (std::isfinite(voxOffset) && voxOffset > 1e12f) {
    throw InputError(path + ": invalid NIfTI header: vox_offset " + std::to_string(voxOffset) + " is not a data offset");
  }
  h.voxOffset = voxOffset >= 352 && std::isfinite(voxOffset) ? static_cast<uint64_t>(voxOffset) : 352;
  // The float checks read one value of bitpix/8 bytes as float32/float64.
  if ((h.datatype == NIFTI_TYPE_FLOAT32 && hdr.bitpix != 32) ||
      (h.datatype == NIFTI_TYPE_FLOAT64 && hdr.bitpix != 64)) {
    throw InputError(path + ": invalid NIfTI header: datatype " + std::to_string(h.datatype) + " with bitpix " +
                     std::to_string(hdr.bitpix));
  }
  if (dim[0] >= 1 && dim[0] <= 7) {
    h.numValues = 1;
    for (int i = 1; i <= dim[0]; ++i) {
      // A used dimension of 0 or less leaves nothing to read, and ITK does not refuse it: it
      // counts it as 1 and allocates the product of the others (a fuzzed 4D header with
      // dim[4] = 0 asked for 6.6 TB), which our size checks below would not have compared.
      if (dim[i] <= 0) {
        throw InputError(path + ": invalid NIfTI header: dim[" + std::to_string(i) + "] is " + std::to_string(dim[i]) +
                         " (each of the " + std::to_string(dim[0]) + " dimensions needs at least 1 voxel)");
      }
      h.numValues *= static_cast<uint64_t>(dim[i]);
      // 2^48 values (dims up to 32767^7 would wrap a 64-bit count) is far beyond any scan.
      if (h.numValues > (uint64_t{1} << 48)) {
        throw InputError(path + ": invalid NIfTI header: dimensions promise more than 2^48 values");
      }
    }
  }
  // ITK 5.2 builds the direction matrix from these with vnl, which calls abort() on a
  // NaN/Inf element: refuse them here with the field's name (the quaternion and srow fields
  // only when their qform_code / sform_code says they are used).
  const int16_t qformCode = hdr.qform_code, sformCode = hdr.sform_code;
  const float quatern[3] = {hdr.quatern_b, hdr.quatern_c, hdr.quatern_d};
  const float qoffset[3] = {hdr.qoffset_x, hdr.qoffset_y, hdr.qoffset_z};
  float srow[12];  // srow_x, srow_y, srow_z: row-major 3x4
  std::copy(hdr.srow_x, hdr.srow_x + 4, srow);
  std::copy(hdr.srow_y, hdr.srow_y + 4, srow + 4);
  std::copy(hdr.srow_z, hdr.srow_z + 4, srow + 8);
  struct FloatField {
    const char* name;
    const float* values;
    size_t count;
    bool used;
  };
  for (const FloatField& f : {FloatField{"pixdim", hdr.pixdim, 4, true},
                              FloatField{"quatern_b/c/d", quatern, std::size(quatern), qformCode > 0},
                              FloatField{"qoffset_x/y/z", qoffset, std::size(qoffset), qformCode > 0},
                              FloatField{"srow_x/y/z", srow, std::size(srow), sformCode > 0}}) {
    for (size_t i = 0; f.used && i < f.count; ++i) {
      const float v = f.values[i];
      if (!std::isfinite(v)) {
        throw InputError(path + ": invalid NIfTI header: " + f.name + " holds a non-finite value (" +
                         std::to_string(v) + ")");
      }
    }
  }
  // An origin beyond half the float range (|t| > ~1.7e38, fuzzer) overflows in ITK 5.2's
  // orientation arithmetic and its float SVD (vnl_svd<float>, LINPACK ssvdc) then never
  // returns. No scan lies 1000 km from the scanner's origin: refuse the used offsets there.
  const auto checkOffset = [&](const char* name, int axis, float v, int16_t code) {
    if (std::fabs(static_cast<double>(v)) > 1e9) {
      char value[32];
      std::snprintf(value, sizeof value, "%g", static_cast<double>(v));
      throw InputError(path + ": invalid NIfTI header: " + name + " offset " + "xyz"[axis] + " is " + value +
                       " (more than 1e9 mm from the origin; code " + std::to_string(code) + ")");
    }
  };
  // A used sform whose axes are degenerate (zero, denormal or astronomically long columns)
  // also ends in vnl's abort() once ITK normalises the columns: refuse it too.
  if (sformCode > 0) {
    for (int c = 0; c < 3; ++c) {
      const double norm = std::sqrt(static_cast<double>(srow[c]) * srow[c] + static_cast<double>(srow[4 + c]) * srow[4 + c] +
                                    static_cast<double>(srow[8 + c]) * srow[8 + c]);
      if (!(norm > 1e-6 && norm < 1e6)) {
        throw InputError(path + ": invalid NIfTI header: srow_x/y/z axis " + std::to_string(c) + " has length " +
                         std::to_string(norm) + " mm (sform_code " + std::to_string(sformCode) + ")");
      }
    }
    for (int a = 0; a < 3; ++a) checkOffset("srow_x/y/z", a, srow[4 * a + 3], sformCode);
  }
  if (qformCode > 0) {
    for (int a = 0; a < 3; ++a) checkOffset("qoffset_x/y/z", a, qoffset[a], qformCode);
  }
  return h;
}

// Streams the data section once. Needed because nifticlib (inside ITK 5.2) zero-fills
// a short read and also overwrites every NaN/Inf with 0 (fixed upstream in ITK 6,
// InsightSoftwareConsortium/ITK#6683), so neither is visible after ITK's read.
RawScan scanRawData(const std::string& path, const RawHeader& h, bool countNonFinite,
                    std::vector<uint64_t>* positions) {
  RawScan scan;
  scan.positions = positions;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw InputError(path + ": cannot open file");
  gzbuffer(file, 1 << 18);
  // Values are only decoded for float32/float64 (bitpix checked against datatype above).
  const int width = h.bytesPerValue > 0 ? h.bytesPerValue : 1;
  std::vector<unsigned char> buffer(static_cast<size_t>(width) * (1 << 18));
  bool ok = gzseek(file, static_cast<z_off_t>(h.voxOffset), SEEK_SET) >= 0;
  const uint64_t dataBytes = h.numValues * static_cast<uint64_t>(width);
  while (ok) {
    // Reads are whole multiples of `width` except at the end of the file.
    const int got = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()));
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      // Z_BUF_ERROR is a stream cut short; anything else is damaged data.
      if (code != Z_BUF_ERROR) {
        scan.corrupt = message != nullptr ? message : "unknown zlib error";
        // zlib prefixes the message with the path, which the caller already names.
        if (scan.corrupt.rfind(path + ": ", 0) == 0) scan.corrupt.erase(0, path.size() + 2);
      }
    }
    if (got <= 0) break;  // end, or a truncated/corrupt stream: the count so far tells
    const uint64_t before = scan.bytes;
    scan.bytes += static_cast<uint64_t>(got);
    if (!countNonFinite || before >= dataBytes) continue;
    const size_t usable = static_cast<size_t>(std::min<uint64_t>(static_cast<uint64_t>(got), dataBytes - before));
    for (size_t i = 0; i + static_cast<size_t>(width) <= usable; i += static_cast<size_t>(width)) {
      unsigned char b[8];
      std::memcpy(b, buffer.data() + i, static_cast<size_t>(width));
      if (h.swapped) std::reverse(b, b + width);
      if (width == 4) {
        float v;
        std::memcpy(&v, b, 4);
        if (!std::isfinite(v)) {
          ++scan.nonFinite;
          if (scan.positions) scan.positions->push_back((before + i) / 4);
        }
      } else {
        double v;
        std::memcpy(&v, b, 8);
        if (!std::isfinite(v)) {
          ++scan.nonFinite;
          if (scan.positions) scan.positions->push_back((before + i) / 8);
        }
      }
    }
  }
  gzclose(file);
  return scan;
}

namespace {

// The last 4 bytes of a gzip member hold the uncompressed size mod 2^32; for the
// usual single-member file this confirms completeness without decompressing.
bool gzipTrailerMatches(const std::string& path, uint64_t expected) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in || in.tellg() < 18) return false;
  in.seekg(-4, std::ios::end);
  unsigned char b[4];
  if (!in.read(reinterpret_cast<char*>(b), 4)) return false;
  const uint32_t isize = static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) |
                         (static_cast<uint32_t>(b[2]) << 16) | (static_cast<uint32_t>(b[3]) << 24);
  return isize == static_cast<uint32_t>(expected & 0xffffffffu);
}

}  // namespace

void throwTruncated(const std::string& path, const RawHeader& h, uint64_t bytes, const std::string& corrupt) {
  const std::string total = std::to_string(h.numValues * static_cast<uint64_t>(h.bytesPerValue));
  if (!corrupt.empty()) {
    throw InputError(path + ": corrupt gzip data (" + corrupt + ") after " + std::to_string(bytes) + " of " +
                     total + " data bytes");
  }
  throw InputError(path + ": truncated file: " + std::to_string(bytes) + " of " + total + " data bytes present");
}

// Data bytes present after voxOffset, capped at what the header promises: the file size,
// or for .gz the gzip trailer (cheap) and a decoding pass only when that does not match.
uint64_t storedDataBytes(const std::string& path, const RawHeader& h, std::string* corrupt) {
  const uint64_t dataBytes = h.numValues * static_cast<uint64_t>(h.bytesPerValue);
  if (endsWithNoCase(path, ".gz")) {
    if (gzipTrailerMatches(path, h.expectedBytes())) return dataBytes;
    const RawScan scan = scanRawData(path, h, false);
    if (corrupt != nullptr) *corrupt = scan.corrupt;
    return std::min(scan.bytes, dataBytes);
  }
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return 0;
  return size > h.voxOffset ? std::min(size - h.voxOffset, dataBytes) : 0;
}

// Cheap completeness check for header-only reads (file size, or the gzip trailer).
void checkComplete(const std::string& path, const RawHeader& h) {
  if (h.numValues == 0 || h.bytesPerValue == 0) return;  // ITK judges odd headers
  std::string corrupt;
  const uint64_t bytes = storedDataBytes(path, h, &corrupt);
  if (bytes < h.numValues * static_cast<uint64_t>(h.bytesPerValue)) throwTruncated(path, h, bytes, corrupt);
}

}  // namespace seg::nifti
