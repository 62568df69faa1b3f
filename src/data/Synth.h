#pragma once
// Synthetic lesion phantoms: the built-in dataset. An organ-like ellipsoid with
// tissue texture, a smooth bias field, noise and partial-volume blur, holding
// lesions with log-uniform radii (about 1 to 12 voxels) and varied contrast.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/Image.h"

namespace seg {

struct SynthOptions {
  int cases = 12;                   // total cases
  int testCases = 4;                // of which held out in imagesTs/labelsTs
  std::array<int64_t, 3> size{96, 96, 64};       // x, y, z
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  // mm
  int classes = 1;                  // foreground classes: 1 (lesion) or 2 (lesion, second type)
  int minLesions = 4;
  int maxLesions = 10;
  double minRadius = 1.0;           // voxels
  double maxRadius = 12.0;          // voxels
  uint64_t seed = 1;
  // BraTS-like tumours instead of lesions: nested label 1 (oedema, the outer shell), 3
  // (enhancing rim) and 2 (necrotic core) in two channels that show them differently
  // (0: FLAIR-like, oedema bright; 1: T1c-like, rim bright, core dark); dataset.json holds
  // nnU-Net's regions whole tumor [1,2,3], tumor core [2,3], enhancing tumor [3].
  bool regions = false;
  // Sparse annotation: each slab of 4 axial slices is unannotated with this probability,
  // its voxels holding the ignore label (largest label + 1, dataset.json "ignore"). 0 = off.
  double ignoreFraction = 0.0;
};

// The ignore label of a dataset written with `options`, or -1 without ignoreFraction.
int synthIgnoreLabel(const SynthOptions& options);

// One placed lesion, for tests and for checking lesion-size coverage.
struct SynthLesion {
  std::array<double, 3> center{0, 0, 0};  // voxel coordinates, x y z
  double radius = 0;                      // nominal radius in voxels (log-uniform draw)
  int label = 1;                          // class index in the label map
  double contrast = 0;                    // added to the organ intensity (organ = 1)
  int64_t voxels = 0;                     // label voxels of this lesion
};

struct SynthCase {
  Volume image;
  LabelVolume label;
  std::vector<SynthLesion> lesions;
};

// Throws InputError naming the first invalid option.
void validateSynthOptions(const SynthOptions& options);

// One case; deterministic in (options.seed, index).
SynthCase makePhantom(const SynthOptions& options, int index);

// Writes dataset.json, imagesTr/, labelsTr/, imagesTs/, labelsTs/ (nnU-Net v2
// layout, _0000 channel suffix, .nii.gz). Throws InputError if outDir exists and is
// not empty.
void writeSynthDataset(const SynthOptions& options, const std::string& outDir);

}  // namespace seg
