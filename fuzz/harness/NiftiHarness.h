#pragma once
// One fuzz input for the NIfTI inspect path (header, completeness and value checks, ITK read),
// shared by fuzz/nifti_fuzzer.cpp and tests/unit/core/FuzzRegressionTest.cpp. The bytes are written to `dir`/input.nii, or
// input.nii.gz when they start with the gzip magic, and read the three ways segdata inspect,
// segtrain and segeval do. Contract: each call returns or throws InputError; anything else
// (another exception, a crash, a sanitizer report, a huge allocation) is a finding.
#include <cstdio>
#include <fstream>
#include <string>

#include "core/Error.h"
#include "data/NiftiIO.h"

namespace seg::fuzz {

inline void runNiftiInput(const std::string& bytes, const std::string& dir) {
  const bool gz = bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
                  static_cast<unsigned char>(bytes[1]) == 0x8b;
  const std::string path = dir + (gz ? "/input.nii.gz" : "/input.nii");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  try {
    readImageInfo(path);
  } catch (const InputError&) {
  }
  try {
    readImage(path);
  } catch (const InputError&) {
  }
  try {
    readLabel(path);
  } catch (const InputError&) {
  }
  std::remove(path.c_str());
}

}  // namespace seg::fuzz
