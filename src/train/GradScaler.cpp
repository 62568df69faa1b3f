#include "train/GradScaler.h"

#include <torch/torch.h>

#include "core/Error.h"

namespace seg {

GradScaler::GradScaler(GradScalerOptions options) : options_(options) {
  if (options_.initScale <= 0 || options_.growthFactor <= 1.0 || options_.backoffFactor <= 0 ||
      options_.backoffFactor >= 1.0 || options_.growthInterval < 1) {
    throw InputError("GradScaler: need init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, growth_interval >= 1");
  }
  scale_ = torch::full({1}, options_.initScale, torch::kFloat32);
  tracker_ = torch::zeros({1}, torch::kInt32);
  foundInf_ = torch::zeros({1}, torch::kFloat32);
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const {
  if (!options_.enabled) return loss;
  return loss * scale_.to(loss.device());
}

bool GradScaler::unscale(const std::vector<torch::Tensor>& parameters) {
  if (!options_.enabled) return true;
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  const torch::Device device = grads.empty() ? torch::Device(torch::kCPU) : grads.front().device();
  scale_ = scale_.to(device);
  tracker_ = tracker_.to(device);
  foundInf_ = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  // torch.amp: the reciprocal is taken in double, then rounded to float.
  const auto invScale = scale_.to(torch::kFloat64).reciprocal().to(torch::kFloat32);
  // The fused ATen kernels of torch.amp.GradScaler, on CUDA and (since LibTorch 2.3) on CPU.
  at::_amp_foreach_non_finite_check_and_unscale_(grads, foundInf_, invScale);
  if (reducer_) reducer_(foundInf_);
  unscaled_ = true;
  return foundInf_.item<float>() == 0.0f;
}

bool GradScaler::stepAndUpdate(torch::optim::Optimizer& optimizer) {
  if (!options_.enabled) {
    optimizer.step();
    return true;
  }
  if (!unscaled_) {
    std::vector<torch::Tensor> params;
    for (const auto& group : optimizer.param_groups())
      for (const auto& p : group.params()) params.push_back(p);
    unscale(params);
  }
  const bool finite = foundInf_.item<float>() == 0.0f;
  if (finite) optimizer.step();
  else ++skipped_;
  update();
  unscaled_ = false;
  return finite;
}

void GradScaler::update() {
  // Backs off and resets the tracker on inf; otherwise counts clean steps and grows once
  // growth_interval of them have passed (torch.amp.GradScaler.update).
  scale_ = at::_amp_update_scale_(scale_, tracker_, foundInf_, options_.growthFactor, options_.backoffFactor,
                                  options_.growthInterval);
}

void GradScaler::save(torch::serialize::OutputArchive& archive) const {
  archive.write("scale", scale_.to(torch::kCPU));
  archive.write("growth_tracker", tracker_.to(torch::kCPU));
  archive.write("skipped", c10::IValue(skipped_));
}

void GradScaler::load(torch::serialize::InputArchive& archive) {
  torch::Tensor scale, tracker;
  archive.read("scale", scale);
  archive.read("growth_tracker", tracker);
  c10::IValue skipped;
  archive.read("skipped", skipped);
  scale_ = scale.to(torch::kFloat32);
  tracker_ = tracker.to(torch::kInt32);
  skipped_ = skipped.toInt();
}

}  // namespace seg
