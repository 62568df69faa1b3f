#pragma once
// What we check in a NIfTI-1 file ourselves, before and after ITK reads it: the raw
// header (byte order, NIfTI-2, sizes, NaN in the fields ITK turns into an abort()) and
// the data section (truncation, damaged gzip, NaN/Inf, which ITK 5.2 hides). No ITK here;
// NiftiIO.cpp does the reading and writing.
#include <cstdint>
#include <string>
#include <vector>

namespace seg::nifti {

bool endsWithNoCase(const std::string& text, const std::string& suffix);

// What we need from the raw NIfTI-1 header to check the data ourselves.
struct RawHeader {
  bool swapped = false;       // file byte order differs from ours
  int16_t datatype = 0;       // NIFTI_TYPE_*
  int bytesPerValue = 0;      // from the datatype; 0 for a datatype ITK refuses
  uint64_t voxOffset = 0;     // start of the data
  uint64_t numValues = 0;     // product of dim[1..dim[0]]; 0 when the header is odd
  uint64_t expectedBytes() const { return voxOffset + numValues * static_cast<uint64_t>(bytesPerValue); }
  bool isFloat() const;  // NIFTI_TYPE_FLOAT32 or NIFTI_TYPE_FLOAT64
};

struct RawScan {
  uint64_t bytes = 0;      // data bytes present after voxOffset
  uint64_t nonFinite = 0;  // NaN/Inf values (float types only)
  std::vector<uint64_t>* positions = nullptr;  // when set, receives their value indices
  std::string corrupt;     // zlib's message when the stream is damaged (not merely cut short)
};

// Parses and validates the header; throws InputError naming `path` and the field.
RawHeader readRawHeader(const std::string& path);
// Streams the data section once (counting NaN/Inf of float data when asked).
RawScan scanRawData(const std::string& path, const RawHeader& h, bool countNonFinite,
                    std::vector<uint64_t>* positions = nullptr);
[[noreturn]] void throwTruncated(const std::string& path, const RawHeader& h, uint64_t bytes,
                                 const std::string& corrupt = "");
// Data bytes present after voxOffset, capped at what the header promises.
uint64_t storedDataBytes(const std::string& path, const RawHeader& h, std::string* corrupt = nullptr);
// Cheap completeness check (file size, or the gzip trailer); throws when data is missing.
void checkComplete(const std::string& path, const RawHeader& h);

}  // namespace seg::nifti
