#pragma once
// Voxel overlap of label maps per class (Dice, IoU) and the empty-reference rule every
// metric states. No ITK I/O, no torch.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/Image.h"

namespace seg {

// What Dice is when both reference and prediction are empty for a class:
// MONAI reports NaN, BraTS scores 1, some tools 0. Every report states the rule.
enum class EmptyRule { Nan, One, Zero };
EmptyRule parseEmptyRule(const std::string& text);  // "nan" | "one" | "zero"; throws InputError
std::string toString(EmptyRule rule);
// The value a ratio takes under the rule when it has nothing to count: NaN, 1 or 0.
double emptyValue(EmptyRule rule);

struct ClassOverlap {
  int classIndex = 0;
  int64_t tp = 0, fp = 0, fn = 0;
  int64_t refVoxels = 0, predVoxels = 0;
  double dice = 0.0;  // 2tp / (2tp + fp + fn), empty rule when ref and pred are empty
  double iou = 0.0;
  // Surface distances in mm (metrics/SurfaceDistance.h); NaN until computed.
  double hd95 = std::numeric_limits<double>::quiet_NaN();
  double assd = std::numeric_limits<double>::quiet_NaN();
};

// Per foreground class 1..numClasses-1. Throws InputError when the grids differ.
std::vector<ClassOverlap> overlapPerClass(const LabelVolume& pred, const LabelVolume& ref,
                                          int numClasses, EmptyRule rule);

}  // namespace seg
