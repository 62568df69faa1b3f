#pragma once
// The training loop. It receives its parts through the constructor (model, loss,
// optimiser, schedule, samplers) and reads no config itself.
#include <torch/optim/optimizer.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/LabelEncoding.h"
#include "data/PatchSampler.h"
#include "losses/LossTerms.h"
#include "models/UNet.h"
#include "train/Checkpoint.h"
#include "train/FullVolumeValidator.h"
#include "train/GradScaler.h"
#include "train/LrSchedule.h"
#include "train/ModelSelection.h"
#include "train/ProgressLine.h"
#include "train/dist/DataParallel.h"

namespace seg {

class TensorBoardWriter;

using LossFn = std::function<torch::Tensor(const torch::Tensor& logits, const torch::Tensor& labels)>;

// What the trainer minimises: the loss in its two halves (losses/LossTerms.h) and the reducer
// its Dice statistics go through, once per step for all deep-supervision levels together.
// Any tensor-valued loss function converts to one with nothing to reduce (tests, custom losses).
struct TrainLoss {
  TrainLoss(LossTermsFn terms, StatisticsReducer reducer = {})
      : terms(std::move(terms)), reducer(std::move(reducer)) {}
  template <class F, std::enable_if_t<std::is_convertible_v<std::invoke_result_t<const F&, const torch::Tensor&,
                                                                                   const torch::Tensor&>,
                                                              torch::Tensor>,
                                      int> = 0>
  TrainLoss(F loss)  // NOLINT(google-explicit-constructor): a plain loss is a TrainLoss
      : terms([loss = std::move(loss)](const torch::Tensor& logits, const torch::Tensor& labels) {
          LossTerms t;
          t.local = loss(logits, labels);
          return t;
        }) {}
  LossTermsFn terms;
  StatisticsReducer reducer;
};

struct TrainerOptions {
  int64_t epochs = 1;
  int64_t iterationsPerEpoch = 1;
  int64_t valEvery = 1;          // 0 disables validation
  int64_t valIterations = 1;
  double gradClip = 12.0;        // 0 disables
  int loaderWorkers = 2;
  int loaderDepth = 4;
  std::string outputDir;         // checkpoints and metrics.csv go here
  double checkpointEveryMinutes = 30.0;
  torch::Device device = torch::kCPU;
  bool ampEnabled = false;
  c10::ScalarType ampDtype = c10::ScalarType::BFloat16;
  int64_t numClasses = 2;        // network output channels (one per region with regions)
  int64_t inChannels = 1;
  // Regions and ignore label (core/LabelEncoding.h): with regions, patch validation scores
  // each region's sigmoid > 0.5 against the region (val_dice_1 .. val_dice_R); voxels with
  // the ignore label are never scored.
  LabelEncoding labels;
  // Train on UNet::forwardAll with nnU-Net's level weights (losses/DeepSupervisionLoss.h);
  // validation always uses the full-resolution output.
  bool deepSupervision = false;
  std::string configYaml;        // stored in every checkpoint
  // Loss scaling (float16 autocast); disabled by default.
  GradScalerOptions scaler{65536.0, 2.0, 0.5, 2000, false};
  // Set from a signal handler (preemption): the trainer writes checkpoint_latest.pt
  // after the current iteration and returns with `stopped` set.
  const std::atomic<bool>* stopRequested = nullptr;
  // Every fullValEvery epochs (0 = never) the validator runs sliding-window inference on
  // the validation cases' whole volumes; its scores go to metrics.csv (vol_* columns).
  int64_t fullValEvery = 0;
  std::shared_ptr<const FullVolumeValidator> fullValidator;
  // What decides checkpoint_best.pt (train/ModelSelection.h): the pseudo-Dice EMA at each
  // validation, or a lesion score of each full-volume validation (needs fullValidator).
  SelectBy selectBy = SelectBy::PseudoDice;
  // The status line during an epoch (terminal or plain lines; train/ProgressLine.h).
  ProgressLineOptions progress;
  // Multi-process data parallelism (train/dist): weights broadcast from rank 0,
  // gradients averaged, stop requests, found-inf flags and validation counts agreed
  // on by all ranks; only rank 0 writes checkpoints and metrics. nullptr: one process.
  std::shared_ptr<dist::DataParallel> parallel;
  // Fine-tuning: parameters named "encoder.*" get no update during the first
  // freezeEncoderEpochs epochs (train/InitFrom.h setParametersFrozen), then train. A
  // function of the epoch, so a run resumed inside the frozen phase freezes the same.
  int64_t freezeEncoderEpochs = 0;
  // Non-empty: rank 0 also writes each epoch's metrics.csv values as TensorBoard scalars
  // into this folder (core/TensorBoardWriter.h; output.tensorboard, docs/training.md).
  std::string tensorboardDir;
};

struct TrainSummary {
  int64_t epochs = 0;
  int64_t iterations = 0;
  double lastTrainLoss = 0.0;
  double bestEmaDice = -1.0;
  double bestScore = -1.0;    // checkpoint_best.pt's score under TrainerOptions::selectBy (-1: none)
  int64_t bestEpoch = 0;      // the epoch it was taken at (0: none)
  int64_t skippedSteps = 0;   // optimiser steps skipped for non-finite gradients
  bool stopped = false;       // a stop was requested before the last epoch finished
};

class Trainer {
 public:
  Trainer(UNet model, TrainLoss loss, std::unique_ptr<torch::optim::Optimizer> optimizer,
          LrScheduleOptions schedule, std::shared_ptr<const PatchSampler> trainSampler,
          std::shared_ptr<const PatchSampler> valSampler, TrainerOptions options);

  // Continues from a checkpoint written by this trainer.
  void resumeFrom(const std::string& checkpointPath);
  TrainSummary run();

 private:
  double trainEpoch(class BatchLoader& loader);
  // Patch pseudo-Dice per foreground class or region (nnU-Net's online evaluation): TP/FP/FN
  // summed over all validation batches, then 2TP / (2TP + FP + FN).
  std::vector<double> validate();
  // Feeds the status line after `done` iterations of this epoch (`first` were done before
  // this process started it).
  void reportProgress(int64_t done, int64_t first, double lossSum, std::chrono::steady_clock::time_point epochStart,
                      double waitSeconds);
  void save(const std::string& name);
  FullVolumeScores validateFullVolumes();
  // Updates the best-checkpoint state for the epoch just finished; true when it improved.
  bool selectBest(const FullVolumeScores* fullScores);
  void appendMetrics(double trainLoss, const std::vector<double>& valDice, double seconds,
                     const std::vector<double>& fullVal);
  // One epoch's metrics.csv row as (column, value), NaN = not measured (an empty cell); the
  // same values go to TensorBoard at step = epoch when options_.tensorboardDir is set.
  std::vector<std::pair<std::string, double>> epochRow(double trainLoss, const std::vector<double>& valDice,
                                                       double seconds, const std::vector<double>& fullVal) const;

  UNet model_;
  TrainLoss loss_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  LrScheduleOptions schedule_;
  std::shared_ptr<const PatchSampler> trainSampler_;
  std::shared_ptr<const PatchSampler> valSampler_;
  TrainerOptions options_;
  bool stopNow() const { return options_.stopRequested && options_.stopRequested->load(); }
  bool isMain() const { return !options_.parallel || options_.parallel->isMain(); }
  bool stopping_ = false;  // a stop request agreed on by all ranks

  CheckpointState state_;
  GradScaler scaler_;
  double loaderWaitSeconds_ = 0.0;  // time the loop waited for batches this epoch
  ProgressLine progress_;
  std::chrono::steady_clock::time_point lastSave_;
  std::shared_ptr<TensorBoardWriter> tensorboard_;  // rank 0 with options_.tensorboardDir
};

}  // namespace seg
