#pragma once
// Integer labels (B, 1, spatial...) -> what a loss compares the logits with, per the
// label encoding (core/LabelEncoding.h), as nnU-Net's trainer does before its loss:
// - ignore label: mask = (label != ignore), and the ignored voxels' label set to 0 so that
//   one-hot encoding and range checks see a valid class (their loss is masked out anyway;
//   nnU-Net's DC_and_CE_loss with ignore_label);
// - regions: float targets (B, R, spatial...), target[r] = (label is one of region r's
//   values), for sigmoid channels (nnU-Net's ConvertSegmentationToRegionsTransform); the
//   ignore label belongs to no region.
// Without either, the labels as they are and no mask. Applied per deep-supervision level,
// after the nearest-neighbour downsampling of the integer labels.
#include <torch/types.h>

#include "core/LabelEncoding.h"

namespace seg {

struct LabelTargets {
  torch::Tensor target;  // integer (B, 1, ...) class labels, or float (B, R, ...) regions
  torch::Tensor mask;    // float32 (B, 1, ...) 0/1; undefined = every voxel counts
};

// Throws c10::Error for labels that are not (B, 1, spatial...) or hold values outside
// 0..255 when regions are used.
LabelTargets labelTargets(const torch::Tensor& labels, const LabelEncoding& encoding);

}  // namespace seg
