#pragma once
// Dynamic loss scaling with torch.amp.GradScaler's semantics (design.md section 6):
// the loss is multiplied by `scale` before backward; gradients are unscaled by
// 1/scale and checked for inf/NaN; a step with non-finite gradients is skipped and
// the scale backs off (x0.5), and after `growth_interval` clean steps in a row it
// grows (x2). The fused ATen kernels torch.amp uses do the work on CUDA and on CPU.
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include <functional>
#include <vector>

namespace seg {

struct GradScalerOptions {
  double initScale = 65536.0;  // 2^16
  double growthFactor = 2.0;
  double backoffFactor = 0.5;
  int64_t growthInterval = 2000;
  bool enabled = true;
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  // loss * scale (the loss itself when disabled).
  torch::Tensor scale(const torch::Tensor& loss) const;
  // Unscales the gradients in place and records whether any is inf/NaN. Returns true
  // when all are finite (after the found-inf reducer, so all ranks agree).
  bool unscale(const std::vector<torch::Tensor>& parameters);
  // Steps the optimiser unless unscale() found non-finite gradients; then updates the
  // scale. Returns whether the optimiser stepped.
  bool stepAndUpdate(torch::optim::Optimizer& optimizer);

  // Sums the found-inf flag across ranks (distributed training); identity by default.
  void setFoundInfReducer(std::function<void(torch::Tensor&)> reducer) { reducer_ = std::move(reducer); }

  double currentScale() const { return scale_.item<double>(); }
  int64_t growthTracker() const { return tracker_.item<int64_t>(); }
  int64_t skippedSteps() const { return skipped_; }
  bool enabled() const { return options_.enabled; }

  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  void update();
  GradScalerOptions options_;
  torch::Tensor scale_;    // float32 scalar
  torch::Tensor tracker_;  // int32 scalar: clean steps since the last change
  torch::Tensor foundInf_; // float32 scalar of the current step
  bool unscaled_ = false;
  int64_t skipped_ = 0;
  std::function<void(torch::Tensor&)> reducer_;
};

}  // namespace seg
