#pragma once
// NIfTI reading and writing through ITK. The only place (with Synth) that includes
// ITK headers for I/O. Every function throws InputError naming the file.
#include <cstdint>
#include <string>
#include <vector>

#include "core/Image.h"

namespace seg {

// What a file holds, read from the header only.
struct ImageInfo {
  std::string path;
  int dimensions = 0;               // 3 or 4
  int64_t channels = 1;             // size of the 4th axis for 4D files
  std::string componentType;        // "uint8", "int16", "float32", ...
  ImageGeometry geometry;
};

// Header only; rejects missing, non-NIfTI, NIfTI-2, unreadable and truncated files
// (truncation is judged from the file size or the gzip trailer, without decoding).
ImageInfo readImageInfo(const std::string& path);

// A 3D file, or a 4D file whose 4th axis becomes channels. Any scalar component
// type; values converted to float. Reads exactly `path` (ITK 5.2 would otherwise
// prefer a sibling x.nii when asked for x.nii.gz). Rejects NaN/Inf values and
// truncated data, which ITK 5.2 would silently turn into zeros.
Volume readImage(const std::string& path);

// For inspection: like readImage, but NaN/Inf values are not an error; their value
// indices (into volume.data) go to `nonFinite`, sorted. ITK 5.2 reads them as 0.
Volume readImageCountingNonFinite(const std::string& path, std::vector<uint64_t>& nonFinite);

// A 3D label map; every value must be an integer in [0, 255] (NaN/Inf rejected).
LabelVolume readLabel(const std::string& path);

// Writes through a temporary file in the same folder and renames it, so a failed
// write never leaves a half-written file under `path`. Channel 0 only for
// multi-channel volumes unless the volume has one channel.
void writeImage(const Volume& volume, const std::string& path);
void writeLabel(const LabelVolume& labels, const std::string& path);

}  // namespace seg
