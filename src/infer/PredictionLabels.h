#pragma once
// From the network's output to a label map, one rule for segeval and full-volume
// validation (nnunetv2/utilities/label_handling: LabelManager.apply_inference_nonlin and
// convert_probabilities_to_segmentation):
// - classes (softmax): argmax over the K channels;
// - one sigmoid channel: foreground where p > 0.5;
// - regions (one sigmoid channel per region): region r where p_r > 0.5, painted with
//   regionsClassOrder[r] in order, later regions overwriting earlier ones (paintRegions).
// p > 0.5 is logit > 0, so logits and probabilities give the same map.
#include <torch/types.h>

#include "core/LabelEncoding.h"

namespace seg {

struct PredictionRule {
  LabelEncoding encoding;  // regions: one sigmoid channel per region
  bool sigmoid = false;    // loss.activation sigmoid (always with regions)
};

// (K, Z, Y, X) float logits -> probabilities: softmax over channels, or sigmoid per channel
// with `rule.sigmoid` (or regions).
torch::Tensor probabilitiesFromLogits(const torch::Tensor& logits, const PredictionRule& rule);

// (K, Z, Y, X) -> (Z, Y, X) uint8 labels, contiguous. `probabilities` says whether `scores`
// holds probabilities (threshold 0.5) or logits (threshold 0). Throws InputError when the
// channels do not match the regions.
torch::Tensor labelsFromScores(const torch::Tensor& scores, const PredictionRule& rule, bool probabilities);

}  // namespace seg
