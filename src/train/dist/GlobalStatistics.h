#pragma once
// Global Dice statistics (design.md section 5). With `batch: true` the per-class
// statistics tp, sum_p, sum_g (each (C,), already summed over the local batch) are
// packed into one (3C,) tensor and summed over ranks in ONE all-reduce, so every rank
// computes the Dice of the whole global batch.
//
// Gradient: if S = sum_r s_r and each rank's loss is L_r = f(S) + (rank-local terms),
// the objective DDP optimises is (1/W) sum_r L_r, whose derivative with respect to
// s_q is (1/W) sum_r dL_r/dS. The backward of the all-reduce therefore all-reduces
// (SUMs) the incoming gradient, and the gradient average over ranks supplies the 1/W:
// the Dice term then gets exactly the gradient of the global-batch loss, while the
// CE term (rank-local mean, averaged over ranks) is untouched. Without the summing
// backward the Dice gradient would be 1/W too small relative to CE.
#include <memory>

#include "losses/DiceStatistics.h"

namespace seg::dist {

class ProcessGroup;

// Sums a 1-D tensor over ranks (one collective) with the summing backward above.
torch::Tensor allReduceSumWithGradient(const torch::Tensor& packed, std::shared_ptr<ProcessGroup> group);

// The loss hook: (C,) statistics (batch: true) are reduced as above; per-sample
// statistics (B, C) (batch: false) pass through unchanged, since their mean over
// the batch already averages correctly across ranks.
StatisticsReducer globalStatisticsReducer(std::shared_ptr<ProcessGroup> group);

}  // namespace seg::dist
