#pragma once
// Intensity normalisation shared by training and inference, so both see the same
// input distribution.
#include <string>

#include "core/Image.h"

namespace seg {

enum class Normalization { ZScore, None };
Normalization parseNormalization(const std::string& text);  // "zscore" | "none"

// Per channel: z-score over all voxels (nnU-Net's MR scheme; std floored at 1e-8),
// or nothing.
void normalizeIntensities(Volume& volume, Normalization scheme);

}  // namespace seg
