#include "train/Trainer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/IoError.h"
#include "core/Log.h"
#include "core/TensorBoardWriter.h"
#include "core/Autocast.h"
#include "data/BatchLoader.h"
#include "losses/DeepSupervisionLoss.h"
#include "losses/LabelTargets.h"
#include "train/InitFrom.h"
#include "train/ProgressPlot.h"

namespace seg {

namespace fs = std::filesystem;

Trainer::Trainer(UNet model, TrainLoss loss, std::unique_ptr<torch::optim::Optimizer> optimizer,
                 LrScheduleOptions schedule, std::shared_ptr<const PatchSampler> trainSampler,
                 std::shared_ptr<const PatchSampler> valSampler, TrainerOptions options)
    : model_(std::move(model)),
      loss_(std::move(loss)),
      optimizer_(std::move(optimizer)),
      schedule_(std::move(schedule)),
      trainSampler_(std::move(trainSampler)),
      valSampler_(std::move(valSampler)),
      options_(std::move(options)),
      scaler_(options_.scaler),
      progress_(options_.progress) {
  state_.inChannels = options_.inChannels;
  state_.numClasses = options_.numClasses;
  state_.configYaml = options_.configYaml;
  state_.selectBy = selectByName(options_.selectBy);
  if (needsFullValidation(options_.selectBy) && (options_.fullValEvery <= 0 || !options_.fullValidator)) {
    throw InputError(std::string("train.select_by: ") + selectByName(options_.selectBy) +
                     " needs train.full_val_every > 0 (the lesion scores come from the full-volume validation)");
  }
  schedule_.totalIterations = options_.epochs * options_.iterationsPerEpoch;
  if (options_.parallel) scaler_.setFoundInfReducer(options_.parallel->foundInfReducer());
}

void Trainer::resumeFrom(const std::string& checkpointPath) {
  const auto restored = loadCheckpoint(checkpointPath, model_, optimizer_.get(), &scaler_);
  state_.epoch = restored.epoch;
  state_.iteration = restored.iteration;
  state_.emaDice = restored.emaDice;
  state_.bestEmaDice = restored.bestEmaDice;
  // The best checkpoint so far was chosen by the checkpoint's criterion: continuing under
  // another would compare scores of different kinds (TrainJob refuses the changed key
  // before this; this guards direct callers).
  if (restored.selectBy != selectByName(options_.selectBy)) {
    throw InputError("train.select_by: '" + checkpointPath + "' chose its best checkpoint by " + restored.selectBy +
                     ", this run by " + selectByName(options_.selectBy) +
                     "; resume with the same train.select_by or start a new run");
  }
  state_.bestScore = restored.bestScore;
  state_.bestEpoch = restored.bestEpoch;
  logger("train")->info("resumed from {} at epoch {} (iteration {})", checkpointPath, state_.epoch,
                        state_.iteration);
}

void Trainer::save(const std::string& name) {
  if (isMain()) saveCheckpoint((fs::path(options_.outputDir) / name).string(), model_, optimizer_.get(), state_,
                 scaler_.enabled() ? &scaler_ : nullptr);
  lastSave_ = std::chrono::steady_clock::now();
}

double Trainer::trainEpoch(BatchLoader& loader) {
  auto log = logger("train");
  model_->train();
  const auto deviceType = options_.device.type();
  double lossSum = 0.0;
  // A time-based checkpoint may have been taken mid-epoch: continue where it stopped.
  const int64_t first = state_.iteration - state_.epoch * options_.iterationsPerEpoch;
  const auto epochStart = std::chrono::steady_clock::now();
  const double waitAtStart = loaderWaitSeconds_;
  for (int64_t it = first; it < options_.iterationsPerEpoch; ++it) {
    const double lr = learningRateAt(schedule_, state_.iteration);
    for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);

    const auto waitStart = std::chrono::steady_clock::now();
    Batch batch = loader.next();
    loaderWaitSeconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - waitStart).count();
    auto images = batch.images.to(options_.device, /*non_blocking=*/true);
    auto labels = batch.labels.to(options_.device, /*non_blocking=*/true);
    optimizer_->zero_grad();
    torch::Tensor loss;
    {
      AutocastGuard autocast(deviceType, options_.ampEnabled, options_.ampDtype);
      loss = options_.deepSupervision
                 ? deepSupervisionLoss(model_->forwardAll(images), labels, loss_.terms, loss_.reducer)
                 : lossOf(loss_.terms(model_->forward(images), labels), loss_.reducer);
    }
    const double value = loss.item<double>();
    if (!std::isfinite(value) && !scaler_.enabled()) {
      throw InternalError("training loss became " + std::to_string(value) + " at iteration " +
                          std::to_string(state_.iteration) + " (lower train.optimizer.lr?)");
    }
    // torch.amp order: scaled backward, unscale, clip the true gradients, then a step
    // that the scaler skips when any gradient is inf/NaN.
    scaler_.scale(loss).backward();
    const auto parameters = model_->parameters();
    if (options_.parallel) options_.parallel->averageGradients(parameters);
    scaler_.unscale(parameters);
    if (options_.gradClip > 0) torch::nn::utils::clip_grad_norm_(parameters, options_.gradClip);
    if (!scaler_.stepAndUpdate(*optimizer_)) {
      progress_.clear();
      log->warn("iteration {}: non-finite gradients, step skipped (loss scale now {})", state_.iteration,
                scaler_.currentScale());
    }
    ++state_.iteration;
    if (std::isfinite(value)) lossSum += value;
    reportProgress(it + 1, first, lossSum, epochStart, loaderWaitSeconds_ - waitAtStart);
    // Ranks may receive a stop signal at different iterations: stop where all agree.
    stopping_ = options_.parallel ? options_.parallel->any(stopNow()) : stopNow();
    if (stopping_) {
      progress_.clear();
      save("checkpoint_latest.pt");
      log->warn("stop requested: checkpoint written at iteration {}; continue with --resume", state_.iteration);
      return lossSum / static_cast<double>(std::max<int64_t>(1, it + 1 - first));
    }
    const double minutes =
        std::chrono::duration<double, std::ratio<60>>(std::chrono::steady_clock::now() - lastSave_).count();
    if (minutes >= options_.checkpointEveryMinutes && it + 1 < options_.iterationsPerEpoch) {
      save("checkpoint_latest.pt");
      progress_.clear();
      log->info("checkpoint at iteration {} ({:.1f} min since the last)", state_.iteration, minutes);
    }
  }
  return lossSum / static_cast<double>(std::max<int64_t>(1, options_.iterationsPerEpoch - first));
}

void Trainer::reportProgress(int64_t done, int64_t first, double lossSum,
                             std::chrono::steady_clock::time_point epochStart, double waitSeconds) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - epochStart).count();
  ProgressSample sample;
  sample.epoch = state_.epoch + 1;
  sample.epochs = options_.epochs;
  sample.iteration = done;
  sample.iterations = options_.iterationsPerEpoch;
  sample.loss = lossSum / static_cast<double>(std::max<int64_t>(1, done - first));
  sample.itPerSecond = elapsed > 0 ? static_cast<double>(done - first) / elapsed : 0.0;
  const int64_t remaining = options_.epochs * options_.iterationsPerEpoch - state_.iteration;
  sample.etaSeconds = sample.itPerSecond > 0 ? static_cast<double>(remaining) / sample.itPerSecond : -1.0;
  sample.loaderWaitShare = elapsed > 0 ? waitSeconds / elapsed : 0.0;
  progress_.update(sample, std::chrono::duration<double>(now.time_since_epoch()).count());
}

// The pseudo-Dice columns: one per foreground class, or one per region (channel).
static int64_t scoredColumns(const TrainerOptions& o) {
  return o.labels.hasRegions() ? o.numClasses : o.numClasses - 1;
}

std::vector<double> Trainer::validate() {
  torch::NoGradGuard noGrad;
  model_->eval();
  const bool regions = options_.labels.hasRegions();
  const int64_t columns = scoredColumns(options_);
  if (columns <= 0) return {};
  std::vector<double> tp(columns, 0.0), fp(columns, 0.0), fn(columns, 0.0);
  for (int64_t i = 0; i < options_.valIterations; ++i) {
    Batch batch = valSampler_->sample(static_cast<uint64_t>(i));
    torch::Tensor logits;
    {
      AutocastGuard autocast(options_.device.type(), options_.ampEnabled, options_.ampDtype);
      logits = model_->forward(batch.images.to(options_.device));
    }
    // Region targets and the annotated voxels (nnU-Net's ignore-label mask).
    const LabelTargets targets = labelTargets(batch.labels, options_.labels);
    const auto keep = targets.mask.defined() ? targets.mask.squeeze(1) > 0.5 : torch::Tensor();
    torch::Tensor pred;  // (B, columns, ...) bool
    torch::Tensor ref;
    if (regions) {
      pred = logits.to(torch::kCPU) > 0;  // sigmoid(x) > 0.5
      ref = targets.target > 0.5;
    } else {
      const auto cls = logits.argmax(1).to(torch::kCPU);
      const auto lab = targets.target.squeeze(1);
      std::vector<torch::Tensor> p, g;
      for (int64_t c = 1; c < options_.numClasses; ++c) {
        p.push_back(cls == c);
        g.push_back(lab == c);
      }
      pred = torch::stack(p, 1);
      ref = torch::stack(g, 1);
    }
    for (int64_t k = 0; k < columns; ++k) {
      auto p = pred.select(1, k);
      auto g = ref.select(1, k);
      if (keep.defined()) {
        p = p & keep;
        g = g & keep;
      }
      tp[k] += (p & g).sum().item<double>();
      fp[k] += (p & ~g).sum().item<double>();
      fn[k] += (~p & g).sum().item<double>();
    }
  }
  if (options_.parallel) {
    // Each rank scored its share of the validation patches: sum the counts.
    options_.parallel->sum(tp);
    options_.parallel->sum(fp);
    options_.parallel->sum(fn);
  }
  std::vector<double> dice;
  for (int64_t k = 0; k < columns; ++k) {
    const double denom = 2 * tp[k] + fp[k] + fn[k];
    dice.push_back(denom > 0 ? 2 * tp[k] / denom : std::nan(""));
  }
  return dice;
}

FullVolumeScores Trainer::validateFullVolumes() {
  torch::NoGradGuard noGrad;
  model_->eval();
  const Network network = [&](const torch::Tensor& x) {
    AutocastGuard autocast(options_.device.type(), options_.ampEnabled, options_.ampDtype);
    return model_->forward(x).to(torch::kFloat32);
  };
  const FullVolumeScores scores = options_.fullValidator->evaluate(network);
  logger("train")->info("full-volume validation ({} cases, {:.1f} s): Dice {:.4f}, lesion sensitivity {:.3f}, "
                        "lesion Dice {:.3f}, FP per case {:.2f}",
                        options_.fullValidator->caseCount(), scores.seconds, scores.dice[0],
                        scores.lesionSensitivity[0], scores.lesionDice[0], scores.fpPerCase[0]);
  return scores;
}

bool Trainer::selectBest(const FullVolumeScores* fullScores) {
  // The EMA's best is kept whatever the criterion (TrainSummary::bestEmaDice).
  if (state_.emaDice >= 0 && state_.emaDice > state_.bestEmaDice) state_.bestEmaDice = state_.emaDice;
  double candidate = std::nan("");
  if (options_.selectBy == SelectBy::PseudoDice) {
    if (state_.emaDice >= 0) candidate = state_.emaDice;
  } else if (fullScores) {
    // Mean over foreground classes (regions) of the pooled lesion F1 or sensitivity: the
    // counts of segeval's pooled lesion detection (FullVolumeScores::lesionF1).
    candidate = meanOverClasses(options_.selectBy == SelectBy::LesionF1 ? fullScores->lesionF1
                                                                        : fullScores->lesionSensitivity);
  }
  if (!isImprovement(candidate, state_.bestScore)) return false;
  const double previous = state_.bestScore;
  const int64_t previousEpoch = state_.bestEpoch;
  state_.bestScore = candidate;
  state_.bestEpoch = state_.epoch;
  if (isMain()) {
    logger("train")->info("epoch {}: checkpoint_best.pt chosen by {} = {:.4f}{}", state_.epoch, state_.selectBy,
                          candidate,
                          previous >= 0 ? fmt::format(" (was {:.4f} at epoch {})", previous, previousEpoch)
                                        : std::string(" (first)"));
  }
  return true;
}

namespace {

// TensorBoard groups metrics.csv's columns into panels: "<group>/<column>". Empty: not a scalar
// of its own (epoch and iteration are the step).
std::string tensorboardTag(const std::string& column) {
  if (column == "epoch" || column == "iteration") return "";
  if (column == "train_loss") return "loss/" + column;
  if (column == "lr" || column == "skipped_steps") return "optim/" + column;
  if (column == "seconds" || column == "loader_wait_s") return "time/" + column;
  if (column.rfind("vol_", 0) == 0) return "full_volume/" + column;
  if (column.rfind("val_dice_", 0) == 0 || column == "ema_dice") return "pseudo_dice/" + column;
  return "metrics/" + column;
}

// A metrics.csv cell: whole numbers (epoch, iteration, counts) as integers, NaN empty.
void writeCell(std::ostream& out, double v) {
  if (std::isnan(v)) return;
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15)
    out << static_cast<int64_t>(v);
  else
    out << v;
}

}  // namespace

std::vector<std::pair<std::string, double>> Trainer::epochRow(double trainLoss, const std::vector<double>& valDice,
                                                              double seconds,
                                                              const std::vector<double>& fullVal) const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::pair<std::string, double>> row = {{"epoch", static_cast<double>(state_.epoch)},
                                                     {"iteration", static_cast<double>(state_.iteration)},
                                                     {"lr", learningRateAt(schedule_, state_.iteration)},
                                                     {"train_loss", trainLoss}};
  for (int64_t c = 1; c <= scoredColumns(options_); ++c)
    row.emplace_back("val_dice_" + std::to_string(c), valDice.empty() ? nan : valDice[c - 1]);
  row.emplace_back("ema_dice", state_.emaDice >= 0 ? state_.emaDice : nan);
  row.emplace_back("seconds", seconds);
  row.emplace_back("loader_wait_s", loaderWaitSeconds_);
  row.emplace_back("skipped_steps", static_cast<double>(scaler_.skippedSteps()));
  if (options_.fullValidator) {
    const auto names = options_.fullValidator->columnNames();
    for (size_t k = 0; k < names.size(); ++k) row.emplace_back(names[k], k < fullVal.size() ? fullVal[k] : nan);
  }
  return row;
}

void Trainer::appendMetrics(double trainLoss, const std::vector<double>& valDice, double seconds,
                            const std::vector<double>& fullVal) {
  if (!isMain()) return;
  const auto row = epochRow(trainLoss, valDice, seconds, fullVal);
  const fs::path path = fs::path(options_.outputDir) / "metrics.csv";
  const bool fresh = !fs::exists(path);
  std::ofstream out(path, std::ios::app);
  if (!out) throw InputError("cannot write " + path.string());
  if (fresh) {
    for (size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << row[i].first;
    out << "\n";
  }
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) out << ",";
    writeCell(out, row[i].second);
  }
  out << "\n";
  out.flush();
  if (!out) throw IoError("cannot write " + path.string() + " (disk full or I/O error)");
  if (tensorboard_) {
    std::vector<std::pair<std::string, double>> scalars;
    for (const auto& [column, value] : row)
      if (auto tag = tensorboardTag(column); !tag.empty()) scalars.emplace_back(std::move(tag), value);
    tensorboard_->scalars(scalars, state_.epoch);
    tensorboard_->flush();
  }
  loaderWaitSeconds_ = 0.0;
}

// metrics.csv is appended per epoch, but a run killed after an epoch's row and before its
// checkpoint resumes from the previous one and would write that epoch again; a failed fresh
// run leaves rows a new run must not continue. Keep the header and the rows the restored
// state has reached (none for a fresh run).
static void trimMetrics(const std::string& outputDir, int64_t restoredIteration) {
  const fs::path path = fs::path(outputDir) / "metrics.csv";
  std::ifstream in(path);
  if (!in) return;
  std::string header, line, kept;
  std::getline(in, header);
  size_t rows = 0;
  bool dropped = false;
  while (std::getline(in, line)) {
    const size_t comma = line.find(',');
    int64_t iteration = -1;
    try {
      iteration = comma == std::string::npos ? -1 : std::stoll(line.substr(comma + 1));
    } catch (const std::exception&) {
    }
    if (iteration >= 0 && iteration <= restoredIteration) {
      kept += line + "\n";
      ++rows;
    } else {
      dropped = true;
    }
  }
  in.close();
  std::error_code ec;
  if (rows == 0) {
    fs::remove(path, ec);
    fs::remove(fs::path(outputDir) / "progress.svg", ec);  // drawn from those rows
  } else if (dropped) {
    writeFileAtomically(path.string(), header + "\n" + kept);
  }
}

TrainSummary Trainer::run() {
  auto log = logger("train");
  fs::create_directories(options_.outputDir);
  if (isMain()) trimMetrics(options_.outputDir, state_.iteration);
  // The epochs after the restored one are written again: TensorBoard drops what earlier
  // files hold from that step on (a fresh run: step 1, everything of a failed earlier run).
  if (isMain() && !options_.tensorboardDir.empty())
    tensorboard_ = std::make_shared<TensorBoardWriter>(options_.tensorboardDir, state_.epoch + 1);
  model_->to(options_.device);
  if (options_.parallel) options_.parallel->broadcastFromMain(*model_);
  BatchLoader loader(trainSampler_, options_.loaderWorkers, options_.loaderDepth,
                     static_cast<uint64_t>(state_.iteration));
  lastSave_ = std::chrono::steady_clock::now();
  TrainSummary summary;
  // The frozen encoder needs no gradient: no update, no momentum, no weight decay (the
  // optimisers skip parameters without a gradient), and the gradient all-reduce skips
  // parameters that require none on every rank alike (the freeze is a function of the epoch).
  int frozen = -1;  // -1 before the first epoch of this process
  auto freezeFor = [&](int64_t epoch) {
    const bool freeze = epoch < options_.freezeEncoderEpochs;
    if (options_.freezeEncoderEpochs <= 0 || static_cast<int>(freeze) == frozen) return;
    const int64_t count = setParametersFrozen(*model_, "encoder.", freeze);
    if (freeze) {
      log->info("encoder frozen ({} parameter tensors) until epoch {} ends", count, options_.freezeEncoderEpochs);
    } else if (frozen == 1 || epoch == options_.freezeEncoderEpochs) {
      log->info("epoch {}: encoder unfrozen", epoch + 1);
    }
    frozen = freeze ? 1 : 0;
  };
  while (state_.epoch < options_.epochs) {
    const auto start = std::chrono::steady_clock::now();
    freezeFor(state_.epoch);
    double trainLoss = trainEpoch(loader);
    if (options_.parallel) {
      std::vector<double> loss{trainLoss};
      options_.parallel->sum(loss);
      trainLoss = loss[0] / options_.parallel->worldSize();
    }
    if (stopping_) {
      summary.stopped = true;
      summary.lastTrainLoss = trainLoss;
      break;
    }
    ++state_.epoch;
    std::vector<double> valDice;
    if (options_.valEvery > 0 && valSampler_ && state_.epoch % options_.valEvery == 0) {
      valDice = validate();
      double mean = 0.0;
      int n = 0;
      for (double d : valDice)
        if (!std::isnan(d)) mean += d, ++n;
      if (n > 0) {
        mean /= n;
        // nnU-Net smooths the pseudo-Dice with an EMA (0.9) to pick the best checkpoint.
        state_.emaDice = state_.emaDice < 0 ? mean : 0.9 * state_.emaDice + 0.1 * mean;
      }
    }
    std::vector<double> fullVal;
    // Full-volume scores feed metrics.csv and the lesion criteria of checkpoint_best.pt,
    // both rank 0's alone (only rank 0 writes checkpoints; on --resume every rank reads
    // rank 0's state): the other ranks skip it, and their best tracking is never used.
    std::optional<FullVolumeScores> fullScores;
    if (isMain() && options_.fullValEvery > 0 && options_.fullValidator && state_.epoch % options_.fullValEvery == 0) {
      progress_.clear();
      fullScores = validateFullVolumes();
      fullVal = FullVolumeValidator::columnValues(*fullScores);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress_.clear();
    const bool improved = selectBest(fullScores ? &*fullScores : nullptr);
    appendMetrics(trainLoss, valDice, seconds, fullVal);
    if (isMain()) {
      writeProgressSvg((fs::path(options_.outputDir) / "metrics.csv").string(),
                       (fs::path(options_.outputDir) / "progress.svg").string(),
                       "segtrain " + fs::path(options_.outputDir).filename().string());
    }
    progress_.clear();
    log->info("epoch {}/{}: train loss {:.4f}, pseudo-Dice {}, EMA {:.4f}, {:.1f} s", state_.epoch,
              options_.epochs, trainLoss,
              valDice.empty() ? std::string("-") : fmt::format("{:.4f}", valDice[0]), state_.emaDice, seconds);
    save("checkpoint_latest.pt");
    if (improved) save("checkpoint_best.pt");
    summary.lastTrainLoss = trainLoss;
  }
  if (!summary.stopped) save("checkpoint_final.pt");
  if (frozen == 1) setParametersFrozen(*model_, "encoder.", false);  // the model leaves the trainer trainable
  summary.skippedSteps = scaler_.skippedSteps();
  summary.epochs = state_.epoch;
  summary.iterations = state_.iteration;
  summary.bestEmaDice = state_.bestEmaDice;
  summary.bestScore = state_.bestScore;
  summary.bestEpoch = state_.bestEpoch;
  if (isMain() && !summary.stopped && needsFullValidation(options_.selectBy) && state_.bestEpoch == 0) {
    log->warn("no checkpoint_best.pt: train.select_by {} was never scored (no full-volume validation ran; "
              "train.full_val_every is {}, train.epochs {})",
              state_.selectBy, options_.fullValEvery, options_.epochs);
  }
  return summary;
}

}  // namespace seg
