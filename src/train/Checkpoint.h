#pragma once
// Checkpoints: weights, optimiser, progress counters, RNG state and the resolved
// config. Written to a temporary file, flushed to disk and renamed, so a crash at any
// moment leaves the previous checkpoint intact.
#include <torch/optim/optimizer.h>

#include <string>

#include "models/UNet.h"
#include "train/GradScaler.h"

namespace seg {

struct CheckpointState {
  int64_t epoch = 0;        // completed epochs
  int64_t iteration = 0;    // completed optimiser steps (= next batch index)
  double emaDice = -1.0;    // EMA of validation pseudo-Dice (-1 before the first)
  double bestEmaDice = -1.0;
  // checkpoint_best.pt's criterion (train.select_by, train/ModelSelection.h), its score and
  // epoch (-1 / 0 before the first best). Checkpoints written before these fields existed
  // read as pseudo_dice with bestScore = bestEmaDice and bestEpoch 0 (unknown).
  std::string selectBy = "pseudo_dice";
  double bestScore = -1.0;
  int64_t bestEpoch = 0;
  int64_t inChannels = 1;
  int64_t numClasses = 2;
  std::string configYaml;   // the resolved config of the run
};

void saveCheckpoint(const std::string& path, UNet& model, torch::optim::Optimizer* optimizer,
                    const CheckpointState& state, const GradScaler* scaler = nullptr);

// saveCheckpoint writes through `<path>.tmp-<pid>` and renames; a SIGKILL mid-write leaves
// that temporary behind. Removes the ones of checkpoint_*.pt files in `dir` (never read,
// only clutter); errors are ignored.
void removeStaleCheckpointTemps(const std::string& dir);

// Reads only the state (for segeval and resume: which model to build).
CheckpointState readCheckpointState(const std::string& path);

// Loads weights (and optimiser state and torch's CPU RNG when `optimizer` is given).
// Throws InputError naming the file for a missing, truncated or mismatched checkpoint.
// The scaler's state (scale, growth counter, skipped steps) is restored when given.
CheckpointState loadCheckpoint(const std::string& path, UNet& model, torch::optim::Optimizer* optimizer,
                               GradScaler* scaler = nullptr);

}  // namespace seg
