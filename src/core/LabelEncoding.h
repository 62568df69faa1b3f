#pragma once
// How label values map onto what the network predicts, in one place for training (targets,
// loss masks, sampling) and evaluation (painting predictions, scoring): plain classes (one
// softmax channel per value 0..C-1) or nnU-Net v2's regions (one sigmoid channel per set of
// values, e.g. BraTS whole tumour {1,2,3} / tumour core {2,3} / enhancing {3}), with an
// optional ignore value that marks unannotated voxels (nnunetv2/utilities/label_handling:
// LabelManager). No torch here; the tensor twins live with their users.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/Image.h"

namespace seg {

struct LabelEncoding {
  std::vector<std::vector<int>> regions;  // label values per region; empty = classes
  std::vector<std::string> regionNames;   // one per region
  std::vector<int> regionsClassOrder;     // value region r is painted with (one per region)
  int ignoreLabel = -1;                   // -1 = none

  bool hasRegions() const { return !regions.empty(); }
  bool hasIgnore() const { return ignoreLabel >= 0; }
  // Bit r of element v is set when label value v belongs to region r (at most 64 regions).
  std::array<uint64_t, 256> regionBits() const;
  // Throws InputError (prefixed by `where`) unless every region is non-empty with values in
  // 1..255, not the ignore label, names and class order match the regions in number, and
  // there are at most 64 regions.
  void check(const std::string& where) const;
};

// The binary mask (0/1) of region `r` of `labels`; voxels holding the ignore label are 0.
LabelVolume regionMask(const LabelVolume& labels, const LabelEncoding& encoding, size_t r);

// A label map from per-region binary masks (each the size of `geometry`'s grid): background
// everywhere, then region r's voxels set to regionsClassOrder[r], r = 0, 1, ... in order (later
// regions overwrite earlier ones: nnU-Net's convert_probabilities_to_segmentation for regions).
LabelVolume paintRegions(const std::vector<LabelVolume>& masks, const LabelEncoding& encoding);

// Sets every voxel where `ref` holds the ignore label to 0 (background) in both `pred` and
// `ref`, so what remains is scored on the annotated voxels only (nnU-Net's
// compute_tp_fp_fn_tn with ignore_mask). Does nothing without an ignore label. For regions,
// call it before regionMask.
void dropIgnored(LabelVolume& pred, LabelVolume& ref, const LabelEncoding& encoding);

}  // namespace seg
