#include "jobs/PlanConfig.h"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "config/ConfigLoader.h"
#include "core/Error.h"

namespace seg {

TrainConfig nnunetTrainerDefaults() {
  TrainConfig c;
  // nnUNetTrainer.__init__: initial_lr 1e-2, weight_decay 3e-5, num_epochs 1000,
  // num_iterations_per_epoch 250, num_val_iterations_per_epoch 50, oversample_foreground_percent 0.33;
  // configure_optimizers: SGD momentum 0.99 nesterov + PolyLRScheduler (exponent 0.9);
  // train_step: clip_grad_norm_(12), autocast (fp16 with a GradScaler on CUDA: bfloat16 here, as
  // it also runs on CPU; set amp.dtype float16 on a GPU for nnU-Net's exact choice).
  c.train.epochs = 1000;
  c.train.iterations_per_epoch = 250;
  c.train.val_iterations = 50;
  c.train.batch_size = 2;
  c.train.optimizer.name = "sgd";
  c.train.optimizer.lr = 1e-2;
  c.train.optimizer.momentum = 0.99;
  c.train.optimizer.nesterov = true;
  c.train.optimizer.weight_decay = 3e-5;
  c.train.scheduler.name = "poly";
  c.train.scheduler.exponent = 0.9;
  c.train.scheduler.warmup_iterations = 0;
  c.train.grad_clip = 12.0;
  c.train.device = "auto";
  c.amp.enabled = true;
  c.amp.dtype = "bfloat16";
  // _build_loss: DC_and_CE_loss with weight_ce 1, weight_dice 1, soft Dice with do_bg False
  // (MemoryEfficientSoftDiceLoss drops channel 0), smooth 1e-5, batch_dice from the plans.
  c.loss.name = "dice_ce";
  c.loss.include_background = false;
  c.loss.activation = "softmax";
  c.loss.lambda_dice = 1.0;
  c.loss.lambda_ce = 1.0;
  c.loss.smooth_nr = 1e-5;
  c.loss.smooth_dr = 1e-5;
  c.loss.batch = true;  // nnU-Net's 3d_fullres value whenever it also plans 3d_lowres
  c.data.foreground_fraction = 0.33;
  c.data.augment = true;
  c.model.deep_supervision = true;
  c.model.features = {32, 64, 128, 256, 320, 320};
  c.model.norm = "instance";
  c.model.activation = "leaky_relu";
  c.model.dropout = 0.0;
  c.data.patch_size = {128, 128, 128};
  return c;
}

TrainConfig configFromPlan(const ExperimentPlan& plan, const std::string& dataRoot,
                           const std::vector<std::string>& channelNames) {
  TrainConfig c = nnunetTrainerDefaults();
  c.data.root = dataRoot;
  c.data.normalization = "zscore";
  for (const std::string& name : channelNames) {
    std::string lower;
    for (char ch : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == "ct") c.data.normalization = "ct";
  }
  c.data.target_spacing.assign(plan.spacing.begin(), plan.spacing.end());
  c.data.patch_size = plan.patchSize;
  c.train.batch_size = plan.batchSize;
  c.loss.batch = plan.batchDice;
  const NetworkSpec& n = plan.network;
  c.model.name = n.name;
  c.model.features = n.features;
  c.model.strides = n.strides;
  c.model.kernel_sizes = n.kernels;
  c.model.deep_supervision = n.deepSupervision;
  if (n.name == "resenc_unet") {
    c.model.blocks_per_stage = n.encoderBlocks;
    c.model.decoder_convs_per_stage = static_cast<int>(n.decoderConvs);
  } else {
    c.model.convs_per_stage = static_cast<int>(n.encoderBlocks.empty() ? 2 : n.encoderBlocks.front());
    c.model.decoder_convs_per_stage = static_cast<int>(n.decoderConvs);
  }
  return c;
}

NetworkSpec networkFromConfig(const ModelConfig& model, int64_t inChannels, int64_t numClasses) {
  NetworkSpec n;
  const size_t stages = model.features.size();
  n.name = model.name;
  n.inChannels = inChannels;
  n.numClasses = numClasses;
  n.features = model.features;
  n.strides = model.strides;
  if (n.strides.empty()) {
    n.strides.assign(stages, {2, 2, 2});
    if (stages > 0) n.strides[0] = {1, 1, 1};
  }
  n.kernels = model.kernel_sizes;
  if (n.kernels.empty()) n.kernels.assign(stages, {3, 3, 3});
  const bool resenc = model.name == "resenc_unet";
  if (resenc) {
    n.encoderBlocks = model.blocks_per_stage;
    for (size_t s = n.encoderBlocks.size(); s < stages; ++s) n.encoderBlocks.push_back(s == 0 ? 1 : s == 1 ? 3 : s == 2 ? 4 : 6);
    n.encoderBlocks.resize(stages);
  } else {
    n.encoderBlocks.assign(stages, model.convs_per_stage);
  }
  n.decoderConvs = model.decoder_convs_per_stage > 0 ? model.decoder_convs_per_stage : resenc ? 1 : model.convs_per_stage;
  n.deepSupervision = model.deep_supervision;
  return n;
}

void writePlanConfig(const ExperimentPlan& plan, const std::string& dataRoot,
                     const std::vector<std::string>& channelNames, const std::string& path) {
  const TrainConfig c = configFromPlan(plan, dataRoot, channelNames);
  std::ostringstream text;
  text << std::setprecision(4);
  text << "# Written by `segdata plan " << dataRoot << " --preset " << presetName(plan.preset) << " --gpu-memory-gb "
       << plan.gpuMemoryGb << "` (docs/planning.md).\n"
       << "# Estimated training memory " << plan.estimate.total() / (1024.0 * 1024 * 1024) << " GiB of a "
       << plan.budgetBytes / (1024.0 * 1024 * 1024) << " GiB budget; nnU-Net's trainer defaults.\n"
       << "# Run: segtrain --config " << path << "\n";
  text << toYaml(c);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) throw InputError("--write-config " + path + ": cannot write " + tmp);
    out << text.str();
    if (!out.flush()) throw InputError("--write-config " + path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError("--write-config " + path + ": cannot rename " + tmp + " to it");
  }
}

}  // namespace seg
