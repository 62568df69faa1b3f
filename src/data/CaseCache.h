#pragma once
// The decoded-case cache: a preprocessed case (reoriented and resampled, not yet
// normalised) stored uncompressed so that later runs map it instead of decoding
// .nii.gz and resampling again. One file per case and spatial parameters:
//
//   <dir>/<case id>-<16 hex digits>.segcache
//     "SEGCACHE" u32 version u32 header bytes, then the key text, the geometry
//     (preprocessed and input grid), channel count, label flag; zero padding to a
//     64-byte boundary; float32 image (channels, z, y, x); uint8 label (z, y, x).
//
// The hex digits hash the case's file paths and the spatial parameters
// (reorientation, target spacing), so different parameters live side by side. The
// header keeps the full key, including every file's size and modification time: a
// changed file no longer matches and the entry is rebuilt in place. Files are
// written through a temporary name and renamed (core/AtomicFile.h), so a crash or
// a concurrent rank never leaves a partial entry. Native byte order (a cache is a
// per-machine artefact).
#include <optional>
#include <string>

#include "data/CaseLoader.h"

namespace seg {

struct CacheKey {
  std::string path;  // the entry's file
  std::string text;  // everything the entry depends on, one item per line
};

// Throws InputError naming a case file that cannot be stat'ed.
CacheKey cacheKey(const std::string& dir, const CaseEntry& entry, const PreprocessOptions& options);

// The cached case when `key.path` exists and holds exactly `key.text`, read through
// mmap; nullopt otherwise (missing, stale, or damaged entries are not errors).
std::optional<LoadedCase> readCachedCase(const CacheKey& key, const std::string& id);

void writeCachedCase(const CacheKey& key, const LoadedCase& c);

}  // namespace seg
