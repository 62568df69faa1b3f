#pragma once
// Label-map fixtures shared by the metrics and connected-component tests.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "support/TestUtil.h"

namespace seg::test {

// Sets every voxel of the box [x0,x1] x [y0,y1] x [z0,z1] (inclusive) to `value`.
inline void fill(LabelVolume& v, int64_t x0, int64_t x1, int64_t y0, int64_t y1, int64_t z0, int64_t z1,
          uint8_t value) {
  for (int64_t z = z0; z <= z1; ++z)
    for (int64_t y = y0; y <= y1; ++y)
      for (int64_t x = x0; x <= x1; ++x) v.data[at(v.geometry, x, y, z)] = value;
}

inline void expectSameDouble(double expected, double actual, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": expected NaN, got " << actual;
  } else {
    EXPECT_NEAR(expected, actual, 1e-9) << what;
  }
}

// The worked example shared by the lesion tests. Grid 10x6x3, spacing (1,1,2) -> 2 mm^3.
//   class 1 reference: A = x1..3,y1,z0 (3 voxels, 6 mm^3, bin 0);
//                      B = x5..8,y1..3,z0..1 (24 voxels, 48 mm^3, bin 1)
//   class 1 prediction: P1 = x6..9,y1..3,z0..1 (24 voxels; 18 inside B), FP voxel (0,5,2)
//     -> A missed (Dice 0); B Dice = 2*18/(24+24) = 0.75; 1 false positive.
//     voxel-wise: tp 18, fp 6+1 = 7, fn 3+6 = 9 -> Dice 36/52, IoU 18/34.
//   class 2 reference: C = x0..3,y4,z1 (4 voxels, 8 mm^3); D = (9,5,2) (1 voxel, 2 mm^3)
//   class 2 prediction: (0,4,1) and {(2,4,1),(2,5,1)} (two components, both touch C), (9,5,2)
//     -> C Dice = 2*2/(4+3) = 4/7; D Dice = 1; no false positive.
//     voxel-wise: tp 3, fp 1, fn 2 -> Dice 6/9, IoU 3/6.
struct WorkedExample {
  LabelVolume ref = makeLabels(10, 6, 3);
  LabelVolume pred = makeLabels(10, 6, 3);
  WorkedExample() {
    for (auto* v : {&ref, &pred}) v->geometry.spacing = {1.0, 1.0, 2.0};
    fill(ref, 1, 3, 1, 1, 0, 0, 1);
    fill(ref, 5, 8, 1, 3, 0, 1, 1);
    fill(pred, 6, 9, 1, 3, 0, 1, 1);
    fill(pred, 0, 0, 5, 5, 2, 2, 1);
    fill(ref, 0, 3, 4, 4, 1, 1, 2);
    fill(ref, 9, 9, 5, 5, 2, 2, 2);
    fill(pred, 0, 0, 4, 4, 1, 1, 2);
    fill(pred, 2, 2, 4, 5, 1, 1, 2);
    fill(pred, 9, 9, 5, 5, 2, 2, 2);
  }
};

}  // namespace seg::test
