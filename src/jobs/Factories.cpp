#include "jobs/Factories.h"

#include <torch/optim.h>

#include "core/Error.h"
#include "core/TorchInfo.h"
#include "losses/CrossEntropyLoss.h"
#include "losses/DiceCELoss.h"
#include "losses/DiceLoss.h"
#include "losses/GeneralizedDiceLoss.h"

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
  return UNetOptions(inChannels, numClasses)
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

LossTermsFn makeLossTerms(const LossConfig& loss) {
  const Activation activation = loss.activation == "sigmoid" ? Activation::Sigmoid : Activation::Softmax;
  auto dice = DiceLossOptions()
                  .include_background(loss.include_background)
                  .activation(activation)
                  .squared_pred(loss.squared_pred)
                  .jaccard(loss.jaccard)
                  .batch(loss.batch)
                  .smooth_nr(loss.smooth_nr)
                  .smooth_dr(loss.smooth_dr);
  if (loss.name == "dice") {
    dice.class_weights(loss.class_weights);
    return [dice](const torch::Tensor& logits, const torch::Tensor& labels) { return diceTerms(logits, labels, dice); };
  }
  if (loss.name == "dice_ce") {
    auto options = DiceCELossOptions()
                       .dice(dice)
                       .lambda_dice(loss.lambda_dice)
                       .lambda_ce(loss.lambda_ce)
                       .class_weights(loss.class_weights);
    return [options](const torch::Tensor& logits, const torch::Tensor& labels) {
      return diceCETerms(logits, labels, options);
    };
  }
  if (loss.name == "ce") {
    auto options = CrossEntropyLossOptions().class_weights(loss.class_weights);
    return [options](const torch::Tensor& logits, const torch::Tensor& labels) {
      LossTerms terms;
      terms.local = crossEntropyLoss(logits, labels, options);
      return terms;
    };
  }
  if (loss.name == "gdl") {
    const GdlWeight w = loss.w_type == "simple" ? GdlWeight::Simple
                        : loss.w_type == "uniform" ? GdlWeight::Uniform
                                                   : GdlWeight::Square;
    auto options = GeneralizedDiceLossOptions()
                       .include_background(loss.include_background)
                       .activation(activation)
                       .w_type(w)
                       .batch(loss.batch)
                       .smooth_nr(loss.smooth_nr)
                       .smooth_dr(loss.smooth_dr);
    return [options](const torch::Tensor& logits, const torch::Tensor& labels) {
      return generalizedDiceTerms(logits, labels, options);
    };
  }
  throw InputError("loss.name: unknown loss '" + loss.name + "'");
}

LossFn makeLoss(const LossConfig& loss, const StatisticsReducer& reducer) {
  return [terms = makeLossTerms(loss), reducer](const torch::Tensor& logits, const torch::Tensor& labels) {
    return lossOf(terms(logits, labels), reducer);
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
