#pragma once
// The "statistics" half of the Dice family: per-class sums that a reduction turns
// into a loss. Kept separate so a distributed reducer can all-reduce them between
// the two halves (design.md section 5) without the loss knowing about ranks.
#include <torch/types.h>

#include <functional>

namespace seg {

struct DiceStatistics {
  // Shape (B, C), or (C) when summed over the batch. float32 (also under autocast),
  // or float64 when the logits are float64.
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

// float32 for float32 and lower-precision logits, float64 for float64 logits.
c10::ScalarType statisticsType(const torch::Tensor& logits);

// Integer labels must index the channels (0 .. C-1; 0/1 for one sigmoid channel).
// Throws c10::Error naming the offending value. Float targets are not checked.
void checkLabelRange(const torch::Tensor& labels, int64_t numChannels, const char* who);

// Probabilities (statisticsType) from logits (B, C, ...) per `activation`.
torch::Tensor activate(const torch::Tensor& logits, Activation activation);

// Targets (B, C, ...) float32 from labels: integer labels (B, 1, ...) are one-hot
// encoded to C channels (kept as a float 0/1 map when C == 1); a float target with C
// channels is used as it is. Throws c10::Error naming the shapes on mismatch.
torch::Tensor prepareTarget(const torch::Tensor& labels, int64_t numChannels, const char* who);

// Sums over spatial axes (and the batch when `batch`). `squared` raises p and g to
// the power 2 in the denominators (MONAI squared_pred). `mask` (B, 1, spatial...), 0/1,
// undefined = every voxel: p and g are multiplied by it before the sums, so masked voxels
// add nothing to tp, sum_p or sum_g and get no gradient (nnU-Net's
// MemoryEfficientSoftDiceLoss with loss_mask; the ignore label).
DiceStatistics computeStatistics(const torch::Tensor& probs, const torch::Tensor& target,
                                 bool squared, bool batch, const torch::Tensor& mask = {});

// Throws c10::Error unless `mask` is undefined or (B, 1, spatial...) of `like`'s batch and
// spatial size. `who` starts the message.
void checkMask(const torch::Tensor& mask, const torch::Tensor& like, const char* who);

}  // namespace seg
