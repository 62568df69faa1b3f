#pragma once
// The "statistics" half of the Dice family: per-class sums that a reduction turns
// into a loss. Kept separate so a distributed reducer can all-reduce them between
// the two halves (design.md section 5) without the loss knowing about ranks.
#include <torch/types.h>

#include <functional>

namespace seg {

struct DiceStatistics {
  // Shape (B, C), or (C) when summed over the batch. Always float32.
  torch::Tensor tp;     // sum(p * g)
  torch::Tensor sumP;   // sum(p^k)
  torch::Tensor sumG;   // sum(g^k)
};

// Hook applied to the statistics before the ratio (identity by default). The
// distributed trainer installs one that sums them across ranks.
using StatisticsReducer = std::function<DiceStatistics(const DiceStatistics&)>;

enum class Reduction { Mean, Sum, None };
torch::Tensor applyReduction(const torch::Tensor& f, Reduction reduction);

// How logits become probabilities and labels become targets, MONAI style.
enum class Activation { Softmax, Sigmoid };

// Probabilities (float32) from logits (B, C, ...) per `activation`.
torch::Tensor activate(const torch::Tensor& logits, Activation activation);

// Targets (B, C, ...) float32 from labels: integer labels (B, 1, ...) are one-hot
// encoded to C channels (kept as a float 0/1 map when C == 1); a float target with C
// channels is used as it is. Throws c10::Error naming the shapes on mismatch.
torch::Tensor prepareTarget(const torch::Tensor& labels, int64_t numChannels, const char* who);

// Sums over spatial axes (and the batch when `batch`). `squared` raises p and g to
// the power 2 in the denominators (MONAI squared_pred).
DiceStatistics computeStatistics(const torch::Tensor& probs, const torch::Tensor& target,
                                 bool squared, bool batch);

}  // namespace seg
