#pragma once
// What the trainer needs from a multi-process run, DDP style: the same initial
// weights everywhere, gradients averaged over ranks after backward, flags and
// statistics agreed on by all ranks. One object per process; the trainer holds it
// through TrainerOptions::parallel (nullptr = one process, nothing reduced).
#include <torch/types.h>

#include <functional>
#include <memory>
#include <vector>

#include "losses/DiceStatistics.h"

namespace torch::nn {
class Module;
}

namespace seg::dist {

class ProcessGroup;

class DataParallel {
 public:
  // Gradients are all-reduced in buckets of about `bucketBytes` (DDP's default 25 MB):
  // few large collectives instead of one per parameter.
  explicit DataParallel(std::shared_ptr<ProcessGroup> group, int64_t bucketBytes = 25ll << 20);

  int rank() const;
  int worldSize() const;
  bool isMain() const { return rank() == 0; }
  ProcessGroup& group() const { return *group_; }

  // Parameters and buffers of `module` take rank 0's values (one collective per dtype).
  void broadcastFromMain(torch::nn::Module& module) const;
  // Every parameter's gradient becomes the mean over ranks. A parameter without a
  // gradient counts as a zero gradient (so all ranks launch the same collectives).
  void averageGradients(const std::vector<torch::Tensor>& parameters) const;

  // Hooks for the parts: global Dice statistics for the loss, and the GradScaler's
  // found-inf flag summed so that all ranks skip a step together.
  StatisticsReducer statisticsReducer() const;
  std::function<void(torch::Tensor&)> foundInfReducer() const;

  // True on every rank when `flag` is true on any (e.g. a stop request that reached
  // the ranks at different iterations).
  bool any(bool flag) const;
  // Element-wise sum over ranks (validation counts, loss sums), in float64.
  void sum(std::vector<double>& values) const;

 private:
  std::shared_ptr<ProcessGroup> group_;
  int64_t bucketBytes_;
};

}  // namespace seg::dist
