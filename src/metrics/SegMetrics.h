#pragma once
// Overlap and lesion-wise metrics on label maps. No ITK I/O, no torch.
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

struct ClassOverlap {
  int classIndex = 0;
  int64_t tp = 0, fp = 0, fn = 0;
  int64_t refVoxels = 0, predVoxels = 0;
  double dice = 0.0;  // 2tp / (2tp + fp + fn), empty rule when ref and pred are empty
  double iou = 0.0;
};

// Per foreground class 1..numClasses-1. Throws InputError when the grids differ.
std::vector<ClassOverlap> overlapPerClass(const LabelVolume& pred, const LabelVolume& ref,
                                          int numClasses, EmptyRule rule);

// Connected components of (labels == classIndex) with 6, 18 or 26 connectivity.
// Returns a component id per voxel (0 = not in class) and the component count.
struct Components {
  std::vector<int32_t> ids;
  int32_t count = 0;
};
Components connectedComponents(const std::vector<uint8_t>& labels,
                               const std::array<int64_t, 3>& size, int classIndex,
                               int connectivity);

struct LesionMatchOptions {
  int connectivity = 26;
  std::vector<double> sizeBinsMm3{0.0, 10.0, 100.0, 1000.0};  // lower edges, last bin open
};

struct Lesion {
  int classIndex = 0;
  int64_t voxels = 0;
  double volumeMm3 = 0.0;
  int bin = 0;          // index into sizeBinsMm3
  bool detected = false;  // any predicted voxel of the class overlaps it
  double dice = 0.0;    // Dice with the union of predicted components overlapping it
};

struct CaseLesions {
  std::vector<Lesion> lesions;         // reference lesions, all classes
  std::vector<int64_t> falsePositives; // per class index (entry 0 unused)
};

CaseLesions matchLesions(const LabelVolume& pred, const LabelVolume& ref, int numClasses,
                         const LesionMatchOptions& options);

// Aggregate of lesions over cases, per class and size bin.
struct SizeBinRow {
  int classIndex = 0;
  double lowMm3 = 0.0;
  double highMm3 = std::numeric_limits<double>::infinity();
  int64_t lesions = 0;
  int64_t detected = 0;
  double sensitivity = 0.0;  // NaN when the bin is empty
  double meanDice = 0.0;     // NaN when the bin is empty
};
std::vector<SizeBinRow> aggregateBins(const std::vector<CaseLesions>& cases, int numClasses,
                                      const std::vector<double>& sizeBinsMm3);

}  // namespace seg
