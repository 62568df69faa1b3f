#include "jobs/Factories.h"

#include <torch/optim.h>

#include "core/Error.h"
#include "core/TorchInfo.h"
#include "losses/CrossEntropyLoss.h"
#include "losses/DiceCELoss.h"
#include "losses/DiceLoss.h"
#include "losses/GeneralizedDiceLoss.h"
#include "losses/LabelTargets.h"

namespace seg {

namespace {
// Config lists are x, y, z (as data.patch_size); the network wants tensor order z, y, x.
std::vector<std::array<int64_t, 3>> toZYX(const std::vector<std::array<int64_t, 3>>& xyz) {
  std::vector<std::array<int64_t, 3>> zyx;
  for (const auto& v : xyz) zyx.push_back({v[2], v[1], v[0]});
  return zyx;
}
}  // namespace

UNetOptions makeUNetOptions(const ModelConfig& model, int64_t inChannels, int64_t numClasses) {
  // resenc_unet = nnU-Net's ResidualEncoderUNet presets: blocks_per_stage empty = 1, 3, 4, 6, 6, ...
  // (the model's default), one conv per decoder stage, transposed convs with bias (conv_bias True).
  const bool residual = model.name == "resenc_unet";
  const int64_t decoderConvs = model.decoder_convs_per_stage > 0 ? model.decoder_convs_per_stage
                               : residual                         ? 1
                                                                  : model.convs_per_stage;
  return UNetOptions(inChannels, numClasses)
      .encoder(residual ? "residual" : "plain")
      .blocks_per_stage(model.blocks_per_stage)
      .decoder_convs_per_stage(decoderConvs)
      .upsample_bias(residual)
      .features(model.features)
      .kernel_sizes(toZYX(model.kernel_sizes))
      .strides(toZYX(model.strides))
      .deep_supervision(model.deep_supervision)
      .checkpointing(model.checkpointing)
      .convs_per_stage(model.convs_per_stage)
      .norm(model.norm)
      .negative_slope(model.activation == "relu" ? 0.0 : 0.01)
      .dropout(model.dropout);
}

LossTermsFn makeLossTerms(const LossConfig& loss, const LabelEncoding& labels) {
  const Activation activation = loss.activation == "sigmoid" ? Activation::Sigmoid : Activation::Softmax;
  const bool regions = labels.hasRegions();
  // Every region channel is foreground (nnU-Net trains regions with do_bg = True).
  const bool includeBackground = regions || loss.include_background;
  auto dice = DiceLossOptions()
                  .include_background(includeBackground)
                  .activation(activation)
                  .squared_pred(loss.squared_pred)
                  .jaccard(loss.jaccard)
                  .batch(loss.batch)
                  .smooth_nr(loss.smooth_nr)
                  .smooth_dr(loss.smooth_dr);
  // The terms of one evaluation from the loss's (target, mask).
  using Terms = std::function<LossTerms(const torch::Tensor&, const LabelTargets&)>;
  Terms terms;
  if (loss.name == "dice") {
    dice.class_weights(loss.class_weights);
    terms = [dice](const torch::Tensor& logits, const LabelTargets& t) {
      return diceTerms(logits, t.target, dice, t.mask);
    };
  } else if (loss.name == "dice_ce") {
    auto options = DiceCELossOptions()
                       .dice(dice)
                       .lambda_dice(loss.lambda_dice)
                       .lambda_ce(loss.lambda_ce)
                       .class_weights(loss.class_weights)
                       .binary_ce(regions);
    terms = [options](const torch::Tensor& logits, const LabelTargets& t) {
      return diceCETerms(logits, t.target, options, t.mask);
    };
  } else if (loss.name == "ce") {
    auto options = CrossEntropyLossOptions().class_weights(loss.class_weights).binary(regions);
    terms = [options](const torch::Tensor& logits, const LabelTargets& t) {
      return crossEntropyTerms(logits, t.target, options, t.mask);
    };
  } else if (loss.name == "gdl") {
    const GdlWeight w = loss.w_type == "simple" ? GdlWeight::Simple
                        : loss.w_type == "uniform" ? GdlWeight::Uniform
                                                   : GdlWeight::Square;
    auto options = GeneralizedDiceLossOptions()
                       .include_background(includeBackground)
                       .activation(activation)
                       .w_type(w)
                       .batch(loss.batch)
                       .smooth_nr(loss.smooth_nr)
                       .smooth_dr(loss.smooth_dr);
    terms = [options](const torch::Tensor& logits, const LabelTargets& t) {
      return generalizedDiceTerms(logits, t.target, options, t.mask);
    };
  } else {
    throw InputError("loss.name: unknown loss '" + loss.name + "'");
  }
  return [terms, labels](const torch::Tensor& logits, const torch::Tensor& labelMap) {
    return terms(logits, labelTargets(labelMap, labels));
  };
}

LossFn makeLoss(const LossConfig& loss, const StatisticsReducer& reducer, const LabelEncoding& labels) {
  return [terms = makeLossTerms(loss, labels), reducer](const torch::Tensor& logits, const torch::Tensor& labelMap) {
    return lossOf(terms(logits, labelMap), reducer);
  };
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const OptimizerConfig& o, UNet& model) {
  auto params = model->parameters();
  if (o.name == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.nesterov).weight_decay(o.weight_decay));
  }
  if (o.name == "adam") {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(o.lr).betas({o.betas[0], o.betas[1]}).eps(o.eps).weight_decay(o.weight_decay));
  }
  if (o.name == "adamw") {
    return std::make_unique<torch::optim::AdamW>(
        params, torch::optim::AdamWOptions(o.lr).betas({o.betas[0], o.betas[1]}).eps(o.eps).weight_decay(o.weight_decay));
  }
  throw InputError("train.optimizer.name: unknown optimizer '" + o.name + "'");
}

LrScheduleOptions makeSchedule(const TrainSection& train) {
  LrScheduleOptions s;
  s.name = train.scheduler.name;
  s.baseLr = train.optimizer.lr;
  s.exponent = train.scheduler.exponent;
  s.minLr = train.scheduler.min_lr;
  s.warmupIterations = train.scheduler.warmup_iterations;
  s.totalIterations = train.epochs * train.iterations_per_epoch;
  return s;
}

torch::Device resolveDevice(const std::string& device, const std::string& key) {
  if (device == "cpu") return torch::kCPU;
  if (device == "cuda" || device == "auto") {
    if (visibleGpus() > 0) return torch::Device(torch::kCUDA, 0);
    if (device == "auto") return torch::kCPU;
    throw InputError(key + ": cuda requested, but no GPU is visible (" +
                     (torchHasCuda() ? "LibTorch " + torchVersion() + " with CUDA " + cudaBuildVersion() +
                                           " finds no CUDA device; check the driver and CUDA_VISIBLE_DEVICES"
                                     : "this segtrain's LibTorch " + torchVersion() + " is a CPU build") +
                     "); use cpu or auto");
  }
  throw InputError(key + ": unknown device '" + device + "' (expected cpu, cuda or auto)");
}

}  // namespace seg
