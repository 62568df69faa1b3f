// Raw NIfTI-1 header and data-section checks (see NiftiRawHeader.h).
#include "data/NiftiRawHeader.h"

#include <itk_zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/Error.h"

namespace seg::nifti {
namespace fs = std::filesystem;

bool endsWithNoCase(const std::string& text, const std::string& suffix) {
  if (text.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), text.rbegin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

namespace {

uint32_t byteSwap32(uint32_t v) {
  return ((v & 0xffu) << 24) | ((v & 0xff00u) << 8) | ((v >> 8) & 0xff00u) | (v >> 24);
}

// Bytes per value of a NIfTI-1 datatype code (nifti1.h NIFTI_TYPE_*); 0 for a code ITK
// does not know. ITK sizes its buffer from the datatype, never from bitpix, so the
// completeness checks must too (fuzzed headers with bitpix 0 or 3 slipped past them).
int datatypeBytes(int16_t datatype) {
  switch (datatype) {
    case 2: case 256: return 1;                  // UINT8, INT8
    case 4: case 512: return 2;                  // INT16, UINT16
    case 8: case 16: case 768: return 4;         // INT32, FLOAT32, UINT32
    case 64: case 1024: case 1280: case 32: return 8;  // FLOAT64, INT64, UINT64, COMPLEX64
    case 128: return 3;                          // RGB24
    case 2304: return 4;                         // RGBA32
    case 1536: case 1792: return 16;             // FLOAT128, COMPLEX128
    case 2048: return 32;                        // COMPLEX256
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
  unsigned char header[348];
  const int got = gzread(file, header, sizeof(header));
  gzclose(file);
  if (got < 0) throw InputError(path + ": corrupt or truncated gzip data in the header");
  if (got < 4) throw InputError(path + ": not a NIfTI file (only " + std::to_string(got) + " bytes)");
  uint32_t sizeofHdr = 0;
  std::memcpy(&sizeofHdr, header, 4);
  if (sizeofHdr == 540 || byteSwap32(sizeofHdr) == 540) {
    throw InputError(path + ": NIfTI-2 is not supported by ITK 5.2: convert to NIfTI-1 (e.g. nibabel)");
  }
  if (sizeofHdr != 348 && byteSwap32(sizeofHdr) != 348) {
    throw InputError(path + ": not a NIfTI-1 file (header size field is " + std::to_string(sizeofHdr) +
                     ", expected 348)");
  }
  if (got < 348) throw InputError(path + ": truncated NIfTI header (" + std::to_string(got) + " of 348 bytes)");
  if (std::memcmp(header + 344, "n+1\0", 4) != 0) {
    throw InputError(path + ": not a single-file NIfTI-1 image (magic is not \"n+1\")");
  }
  RawHeader h;
  // The byte order as nifticlib (which ITK reads through) decides it in need_nhdr_swap:
  // the order in which dim[0] is 1..7; sizeof_hdr only when dim[0] is 0. Deciding by
  // sizeof_hdr alone read some fields in the other order than ITK does (a fuzzed header
  // with a finite sform for us and a NaN one for ITK, whose vnl then called abort()).
  int16_t dim0 = 0;
  std::memcpy(&dim0, header + 40, 2);
  const auto swapped16 = static_cast<int16_t>(static_cast<uint16_t>((static_cast<uint16_t>(dim0) << 8) |
                                                                    (static_cast<uint16_t>(dim0) >> 8)));
  if (dim0 == 0) {
    h.swapped = sizeofHdr != 348;
  } else if (dim0 >= 1 && dim0 <= 7) {
    h.swapped = false;
  } else if (swapped16 >= 1 && swapped16 <= 7) {
    h.swapped = true;
  } else {
    throw InputError(path + ": invalid NIfTI header: dim[0] is " + std::to_string(dim0) +
                     " (1..7 expected in either byte order)");
  }
  auto field = [&](size_t offset, size_t n, void* out) {
    unsigned char b[8];
    std::memcpy(b, header + offset, n);
    if (h.swapped) std::reverse(b, b + n);
    std::memcpy(out, b, n);
  };
  int16_t dim[8], bitpix = 0;
  float voxOffset = 0;
  for (int i = 0; i < 8; ++i) field(40 + 2 * static_cast<size_t>(i), 2, &dim[i]);
  field(70, 2, &h.datatype);
  field(72, 2, &bitpix);
  field(108, 4, &voxOffset);
  h.bytesPerValue = datatypeBytes(h.datatype);
  // Checks below were found by fuzz/nifti_fuzzer (inputs kept in fuzz/regressions/nifti).
  // A float -> integer conversion of an out-of-range vox_offset is undefined behaviour.
  if (std::isfinite(voxOffset) && voxOffset > 1e12f) {
    throw InputError(path + ": invalid NIfTI header: vox_offset " + std::to_string(voxOffset) + " is not a data offset");
  }
  h.voxOffset = voxOffset >= 352 && std::isfinite(voxOffset) ? static_cast<uint64_t>(voxOffset) : 352;
  // The float checks read one value of bitpix/8 bytes as float32/float64.
  if ((h.datatype == 16 && bitpix != 32) || (h.datatype == 64 && bitpix != 64)) {
    throw InputError(path + ": invalid NIfTI header: datatype " + std::to_string(h.datatype) + " with bitpix " +
                     std::to_string(bitpix));
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
  int16_t qformCode = 0, sformCode = 0;
  field(252, 2, &qformCode);
  field(254, 2, &sformCode);
  struct FloatField {
    const char* name;
    size_t offset;
    int count;
    bool used;
  };
  for (const FloatField f : {FloatField{"pixdim", 76, 4, true}, FloatField{"quatern_b/c/d", 256, 3, qformCode > 0},
                             FloatField{"qoffset_x/y/z", 268, 3, qformCode > 0},
                             FloatField{"srow_x/y/z", 280, 12, sformCode > 0}}) {
    for (int i = 0; f.used && i < f.count; ++i) {
      float v = 0;
      field(f.offset + 4 * static_cast<size_t>(i), 4, &v);
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
    float srow[12];
    for (int i = 0; i < 12; ++i) field(280 + 4 * static_cast<size_t>(i), 4, &srow[i]);
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
    for (int a = 0; a < 3; ++a) {
      float v = 0;
      field(268 + 4 * static_cast<size_t>(a), 4, &v);
      checkOffset("qoffset_x/y/z", a, v, qformCode);
    }
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
