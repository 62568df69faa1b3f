#include "data/NiftiIO.h"

#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkNiftiImageIO.h>
#include <itk_zlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/Error.h"
#include "core/Log.h"
#include "data/ItkBridge.h"

namespace seg {
namespace fs = std::filesystem;

namespace {

bool endsWithNoCase(const std::string& text, const std::string& suffix) {
  if (text.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), text.rbegin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

// ".nii.gz" or ".nii" (as spelled in `path`), or "" for anything else.
std::string niftiEnding(const std::string& path) {
  if (endsWithNoCase(path, ".nii.gz")) return path.substr(path.size() - 7);
  if (endsWithNoCase(path, ".nii")) return path.substr(path.size() - 4);
  return "";
}

std::string componentName(itk::IOComponentEnum type) {
  switch (type) {
    case itk::IOComponentEnum::UCHAR: return "uint8";
    case itk::IOComponentEnum::CHAR: return "int8";
    case itk::IOComponentEnum::USHORT: return "uint16";
    case itk::IOComponentEnum::SHORT: return "int16";
    case itk::IOComponentEnum::UINT: return "uint32";
    case itk::IOComponentEnum::INT: return "int32";
    case itk::IOComponentEnum::ULONG:
    case itk::IOComponentEnum::ULONGLONG: return "uint64";
    case itk::IOComponentEnum::LONG:
    case itk::IOComponentEnum::LONGLONG: return "int64";
    case itk::IOComponentEnum::FLOAT: return "float32";
    case itk::IOComponentEnum::DOUBLE: return "float64";
    default: return "unknown";
  }
}

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

// What we need from the raw NIfTI-1 header to check the data ourselves.
struct RawHeader {
  bool swapped = false;       // file byte order differs from ours
  int16_t datatype = 0;       // NIFTI_TYPE_*
  int bytesPerValue = 0;      // from the datatype; 0 for a datatype ITK refuses
  uint64_t voxOffset = 0;     // start of the data
  uint64_t numValues = 0;     // product of dim[1..dim[0]]; 0 when the header is odd
  uint64_t expectedBytes() const { return voxOffset + numValues * static_cast<uint64_t>(bytesPerValue); }
  bool isFloat() const { return datatype == 16 || datatype == 64; }  // FLOAT32, FLOAT64
};

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
  }
  return h;
}

struct RawScan {
  uint64_t bytes = 0;      // data bytes present after voxOffset
  uint64_t nonFinite = 0;  // NaN/Inf values (float types only)
  std::vector<uint64_t>* positions = nullptr;  // when set, receives their value indices
  std::string corrupt;     // zlib's message when the stream is damaged (not merely cut short)
};

// Streams the data section once. Needed because nifticlib (inside ITK 5.2) zero-fills
// a short read and also overwrites every NaN/Inf with 0 (fixed upstream in ITK 6,
// InsightSoftwareConsortium/ITK#6683), so neither is visible after ITK's read.
RawScan scanRawData(const std::string& path, const RawHeader& h, bool countNonFinite,
                    std::vector<uint64_t>* positions = nullptr) {
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

void throwTruncated(const std::string& path, const RawHeader& h, uint64_t bytes, const std::string& corrupt = "") {
  const std::string total = std::to_string(h.numValues * static_cast<uint64_t>(h.bytesPerValue));
  if (!corrupt.empty()) {
    throw InputError(path + ": corrupt gzip data (" + corrupt + ") after " + std::to_string(bytes) + " of " +
                     total + " data bytes");
  }
  throw InputError(path + ": truncated file: " + std::to_string(bytes) + " of " + total + " data bytes present");
}

// Data bytes present after voxOffset, capped at what the header promises: the file size,
// or for .gz the gzip trailer (cheap) and a decoding pass only when that does not match.
uint64_t storedDataBytes(const std::string& path, const RawHeader& h, std::string* corrupt = nullptr) {
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

// ITK 5.2 asked for x.nii.gz reads a sibling x.nii when one exists (nifticlib
// looks the header up by base name). When a sibling is present we read through a
// symlink in a private folder where the named file is the only candidate.
class ExactPath {
 public:
  explicit ExactPath(const std::string& path) : path_(path) {
    const std::string ending = niftiEnding(path);
    const std::string base = path.substr(0, path.size() - ending.size());
    bool sibling = false;
    for (const char* other : {".nii", ".nii.gz", ".hdr", ".hdr.gz", ".img", ".img.gz", ".NII", ".NII.GZ"}) {
      const std::string candidate = base + other;
      std::error_code ec;
      if (candidate != path && fs::exists(candidate, ec)) sibling = true;
    }
    if (!sibling) return;
    static std::atomic<uint64_t> counter{0};
    dir_ = fs::temp_directory_path() /
           ("segtrain-read-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::error_code ec;
    fs::create_directories(dir_, ec);
    const fs::path link = dir_ / ("image" + ending);
    if (!ec) fs::create_symlink(fs::absolute(path), link, ec);
    if (ec) fs::copy_file(path, link, ec);
    if (ec) throw InputError(path + ": cannot isolate the file from its sibling (" + ec.message() + ")");
    path_ = link.string();
  }
  ~ExactPath() {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  ExactPath(const ExactPath&) = delete;
  ExactPath& operator=(const ExactPath&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  fs::path dir_;
};

itk::NiftiImageIO::Pointer makeIO() {
  // Explicit IO object rather than the factory: the factory may pick another
  // reader (or none) and we want NIfTI semantics only.
  return itk::NiftiImageIO::New();
}

ImageInfo readInfoFrom(const std::string& userPath, const std::string& itkPath) {
  auto io = makeIO();
  try {
    io->SetFileName(itkPath);
    io->ReadImageInformation();
  } catch (const itk::ExceptionObject& e) {
    throw InputError(userPath + ": cannot read NIfTI header: " + e.GetDescription());
  }
  ImageInfo info;
  info.path = userPath;
  info.dimensions = static_cast<int>(io->GetNumberOfDimensions());
  info.componentType = componentName(io->GetComponentType());
  if (io->GetNumberOfComponents() != 1) {
    throw InputError(userPath + ": vector pixels (" + std::to_string(io->GetNumberOfComponents()) +
                     " components) are not supported; store channels on the 4th axis");
  }
  if (info.dimensions < 3 || info.dimensions > 4) {
    throw InputError(userPath + ": expected a 3D or 4D image, got " + std::to_string(info.dimensions) + "D");
  }
  for (unsigned i = 0; i < 3; ++i) {
    info.geometry.size[i] = static_cast<int64_t>(io->GetDimensions(i));
    // "+ 0.0" turns the -0 that ITK's LPS flip leaves behind into 0 for printing.
    info.geometry.spacing[i] = io->GetSpacing(i);
    info.geometry.origin[i] = io->GetOrigin(i) + 0.0;
    // GetDirection(c) is the direction cosine of axis c: column c of the matrix.
    const std::vector<double> column = io->GetDirection(i);
    for (unsigned r = 0; r < 3; ++r) info.geometry.direction[r * 3 + i] = column[r] + 0.0;
  }
  info.channels = info.dimensions == 4 ? static_cast<int64_t>(io->GetDimensions(3)) : 1;
  return info;
}

template <typename TPixel, unsigned D>
typename itk::Image<TPixel, D>::Pointer readItk(const std::string& userPath, const std::string& itkPath) {
  using ImageType = itk::Image<TPixel, D>;
  auto reader = itk::ImageFileReader<ImageType>::New();
  reader->SetImageIO(makeIO());
  reader->SetFileName(itkPath);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError(userPath + ": cannot read image data: " + e.GetDescription());
  }
  return reader->GetOutput();
}

template <typename TPixel, unsigned D>
std::vector<TPixel> bufferOf(const typename itk::Image<TPixel, D>::Pointer& image, size_t expected,
                             const std::string& path) {
  const size_t n = image->GetBufferedRegion().GetNumberOfPixels();
  if (n != expected) {
    throw InputError(path + ": read " + std::to_string(n) + " voxels, header promises " + std::to_string(expected));
  }
  const TPixel* p = image->GetBufferPointer();
  return std::vector<TPixel>(p, p + n);
}

RawHeader checkReadable(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError("image file not found: " + path);
  if (fs::is_directory(path, ec)) throw InputError(path + ": is a folder, expected a NIfTI file");
  if (niftiEnding(path).empty()) {
    throw InputError(path + ": unsupported file type (expected .nii or .nii.gz)");
  }
  return readRawHeader(path);
}

// Full pass over float data: truncation and NaN/Inf, which ITK would hide.
void checkFloatData(const std::string& path, const RawHeader& h, const char* what) {
  const RawScan scan = scanRawData(path, h, true);
  const uint64_t dataBytes = h.numValues * static_cast<uint64_t>(h.bytesPerValue);
  if (scan.bytes < dataBytes) throwTruncated(path, h, scan.bytes, scan.corrupt);
  if (scan.nonFinite > 0) {
    throw InputError(path + ": " + std::to_string(scan.nonFinite) + " non-finite values (NaN or Inf) of " +
                     std::to_string(h.numValues) + what);
  }
}

void checkData(const std::string& path, const RawHeader& h, const char* what) {
  if (h.isFloat() && h.numValues > 0) {
    checkFloatData(path, h, what);
  } else {
    checkComplete(path, h);
  }
}

void checkWritable(const ImageGeometry& g, size_t bufferSize, const std::string& path) {
  if (niftiEnding(path).empty()) throw InputError(path + ": output must end in .nii or .nii.gz");
  for (int i = 0; i < 3; ++i) {
    if (g.size[i] <= 0) throw InputError(path + ": cannot write an empty image " + g.describeSize());
    if (!(g.spacing[i] > 0)) throw InputError(path + ": spacing must be positive");
  }
  if (bufferSize < static_cast<size_t>(g.numVoxels())) {
    throw InternalError(path + ": buffer holds " + std::to_string(bufferSize) + " values for a " +
                        g.describeSize() + " image");
  }
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    throw InputError(path + ": cannot write: folder " + parent.string() + " does not exist");
  }
}

// Temporary name next to the target that keeps the .nii/.nii.gz ending, so ITK
// picks the same compression; hidden (leading dot) so dataset scans skip it.
std::string tempNameFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  const std::string ending = niftiEnding(path);
  const fs::path target(path);
  const std::string file = target.filename().string();
  const std::string stem = file.substr(0, file.size() - ending.size());
  const std::string name = "." + stem + ".tmp-" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter++) + ending;
  return (target.parent_path() / name).string();
}

template <typename TPixel>
void writeAtomically(const ImageGeometry& g, const TPixel* data, const std::string& path) {
  const std::string temp = tempNameFor(path);
  auto removeTemp = [&] {
    std::error_code ec;
    fs::remove(temp, ec);
  };
  try {
    auto image = itkbridge::toItk<TPixel>(g, data);
    auto writer = itk::ImageFileWriter<itk::Image<TPixel, 3>>::New();
    writer->SetImageIO(makeIO());
    writer->SetFileName(temp);
    writer->SetInput(image);
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    removeTemp();
    throw InputError(path + ": cannot write NIfTI file: " + e.GetDescription());
  } catch (...) {
    removeTemp();
    throw;
  }
  // nifticlib reports a short write (disk full) only on stderr ("NWAD: wrote only ...") and
  // ITK 5.2 raises no exception for it: check what reached the disk before the rename.
  uint64_t stored = 0, expected = static_cast<uint64_t>(g.numVoxels()) * sizeof(TPixel);
  try {
    const RawHeader h = readRawHeader(temp);
    expected = h.numValues * static_cast<uint64_t>(h.bytesPerValue);
    stored = storedDataBytes(temp, h);
  } catch (const InputError&) {
    stored = 0;
  }
  if (stored < expected) {
    removeTemp();
    throw InputError(path + ": cannot write NIfTI file: only " + std::to_string(stored) + " of " +
                     std::to_string(expected) + " data bytes reached the disk (disk full or I/O error)");
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    removeTemp();
    throw InputError(path + ": cannot move the written file into place: " + ec.message());
  }
}

}  // namespace

ImageInfo readImageInfo(const std::string& path) {
  const RawHeader raw = checkReadable(path);
  ExactPath exact(path);
  ImageInfo info = readInfoFrom(path, exact.path());
  checkComplete(path, raw);
  return info;
}

namespace {

// `nonFinite` null: refuse NaN/Inf; otherwise collect their value indices (ITK reads 0 there).
Volume readImageData(const std::string& path, std::vector<uint64_t>* nonFinite) {
  const RawHeader raw = checkReadable(path);
  ExactPath exact(path);
  // Dimensions first: reading a 4D file into a 3D image silently keeps volume 0.
  const ImageInfo info = readInfoFrom(path, exact.path());
  if (nonFinite == nullptr) {
    checkData(path, raw, "");
  } else if (raw.isFloat() && raw.numValues > 0) {
    const RawScan scan = scanRawData(path, raw, true, nonFinite);
    if (scan.bytes < raw.numValues * static_cast<uint64_t>(raw.bytesPerValue)) throwTruncated(path, raw, scan.bytes, scan.corrupt);
  } else {
    checkComplete(path, raw);
  }
  Volume volume;
  volume.geometry = info.geometry;
  volume.channels = info.channels;
  const size_t expected = static_cast<size_t>(info.geometry.numVoxels() * info.channels);
  if (info.dimensions == 3) {
    volume.data = bufferOf<float, 3>(readItk<float, 3>(path, exact.path()), expected, path);
  } else {
    // ITK's 4D buffer is x-fastest with t slowest: exactly (channels, z, y, x).
    volume.data = bufferOf<float, 4>(readItk<float, 4>(path, exact.path()), expected, path);
  }
  if (nonFinite != nullptr) {
    // Also values that overflowed when scaled (scl_slope), once each.
    std::vector<uint64_t> scaled;
    for (size_t i = 0; i < volume.data.size(); ++i) {
      if (!std::isfinite(volume.data[i])) scaled.push_back(i);
    }
    nonFinite->insert(nonFinite->end(), scaled.begin(), scaled.end());
    std::sort(nonFinite->begin(), nonFinite->end());
    nonFinite->erase(std::unique(nonFinite->begin(), nonFinite->end()), nonFinite->end());
    return volume;
  }
  // Integer data scaled by an extreme scl_slope can still overflow float.
  size_t bad = 0;
  for (float v : volume.data) bad += std::isfinite(v) ? 0 : 1;
  if (bad > 0) {
    throw InputError(path + ": " + std::to_string(bad) + " non-finite values (NaN or Inf) of " +
                     std::to_string(volume.data.size()));
  }
  return volume;
}

}  // namespace

Volume readImage(const std::string& path) { return readImageData(path, nullptr); }

Volume readImageCountingNonFinite(const std::string& path, std::vector<uint64_t>& nonFinite) {
  nonFinite.clear();
  return readImageData(path, &nonFinite);
}

LabelVolume readLabel(const std::string& path) {
  const RawHeader raw = checkReadable(path);
  ExactPath exact(path);
  const ImageInfo info = readInfoFrom(path, exact.path());
  if (info.dimensions != 3) {
    throw InputError(path + ": a label map must be 3D, got " + std::to_string(info.dimensions) + "D with " +
                     std::to_string(info.channels) + " volumes");
  }
  checkData(path, raw, " in a label map");
  LabelVolume labels;
  labels.geometry = info.geometry;
  const size_t expected = static_cast<size_t>(info.geometry.numVoxels());
  // uint8 needs no checks (ITK reports a scaled file as float, so this is exact).
  if (info.componentType == "uint8") {
    labels.data = bufferOf<uint8_t, 3>(readItk<uint8_t, 3>(path, exact.path()), expected, path);
    return labels;
  }
  const auto values = bufferOf<double, 3>(readItk<double, 3>(path, exact.path()), expected, path);
  labels.data.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!(v >= 0 && v <= 255) || v != std::floor(v)) {
      std::ostringstream out;
      out.precision(10);
      out << path << ": label value " << v << " at voxel " << i
          << " is not an integer in [0, 255] (is this an image rather than a label map?)";
      throw InputError(out.str());
    }
    labels.data[i] = static_cast<uint8_t>(v);
  }
  return labels;
}

void writeImage(const Volume& volume, const std::string& path) {
  const ImageGeometry& g = volume.geometry;
  checkWritable(g, volume.data.size(), path);
  if (volume.channels > 1) {
    logger("data")->warn("{}: writing channel 0 of {} (multi-channel output is not supported)", path,
                         volume.channels);
  }
  writeAtomically<float>(g, volume.data.data(), path);
}

void writeLabel(const LabelVolume& labels, const std::string& path) {
  checkWritable(labels.geometry, labels.data.size(), path);
  writeAtomically<uint8_t>(labels.geometry, labels.data.data(), path);
}

}  // namespace seg
