#pragma once
// A whole training run from a resolved config: dataset, split, cached cases,
// samplers, model, loss, optimiser, trainer. segtrain's main calls this.
#include <atomic>
#include <string>

#include "config/TrainConfig.h"
#include "core/LabelEncoding.h"
#include "train/Trainer.h"
#include "train/dist/LaunchEnv.h"

namespace seg {

struct TrainJobOptions {
  bool resume = false;     // continue <output.dir>/checkpoint_latest.pt
  const std::atomic<bool>* stopRequested = nullptr;  // set by the app's signal handler
  // Redraw a status line in place on `terminalOut` (app/ passes stderr when it is a
  // terminal); otherwise a plain "train" log line every minute.
  bool progressTerminal = false;
  std::ostream* terminalOut = nullptr;
  dist::LaunchEnv launch;  // rank and rendezvous of a multi-process run (default: one process)
};

TrainSummary runTrainJob(const TrainConfig& config, const TrainJobOptions& options);

struct DatasetManifest;
// The run's regions and ignore label (docs/data.md): data.regions / regions_class_order /
// ignore_label of the config, else those of dataset.json (`manifest`); the config wins.
// What was resolved is written back into `data`, so the saved config (and every
// checkpoint) tells segeval. InputError naming the key: dataset regions without
// loss.activation sigmoid, region values that are no label of the dataset, an ignore label
// that is not above every class.
LabelEncoding resolveLabelEncoding(DataConfig& data, const LossConfig& loss, const DatasetManifest& manifest);

// The dataset's classes without the ignore label: the highest other label value + 1.
int classCount(const DatasetManifest& manifest, const LabelEncoding& labels);

// The device train.device resolves to on this machine, with dist.backend checked against it:
// cuda without a visible GPU, or nccl on the CPU, is an InputError. runTrainJob starts with
// it; segtrain calls it before it creates the run directory or starts ranks.
torch::Device resolveTrainDevice(const TrainConfig& config);

}  // namespace seg
