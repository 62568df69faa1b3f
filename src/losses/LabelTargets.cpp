#include "losses/LabelTargets.h"

#include <torch/torch.h>

namespace seg {

LabelTargets labelTargets(const torch::Tensor& labels, const LabelEncoding& encoding) {
  LabelTargets out;
  out.target = labels;
  if (!encoding.hasIgnore() && !encoding.hasRegions()) return out;
  TORCH_CHECK(labels.dim() >= 3 && labels.size(1) == 1, "label targets: labels must be (B, 1, spatial...), got ",
              labels.sizes());
  auto lab = labels.is_floating_point() ? labels.to(torch::kLong) : labels;
  if (encoding.hasIgnore()) {
    const auto ignored = lab == encoding.ignoreLabel;
    out.mask = (~ignored).to(torch::kFloat32);
    lab = lab.masked_fill(ignored, 0);
  }
  if (!encoding.hasRegions()) {
    out.target = lab;
    return out;
  }
  if (lab.numel() > 0) {
    const auto range = torch::stack({lab.min(), lab.max()}).to(torch::kCPU, torch::kLong);
    TORCH_CHECK(range[0].item<int64_t>() >= 0 && range[1].item<int64_t>() <= 255, "label targets: label value ",
                range[0].item<int64_t>() < 0 ? range[0].item<int64_t>() : range[1].item<int64_t>(),
                " is outside 0..255");
  }
  // A (256, R) lookup table: one gather gives every region's target at once.
  const auto regions = static_cast<int64_t>(encoding.regions.size());
  auto table = torch::zeros({256, regions}, torch::kFloat32);
  auto acc = table.accessor<float, 2>();
  for (int64_t r = 0; r < regions; ++r)
    for (int v : encoding.regions[static_cast<size_t>(r)])
      if (v >= 0 && v < 256) acc[v][r] = 1.0f;
  table = table.to(labels.device());
  out.target = table.index({lab.squeeze(1).to(torch::kLong)}).movedim(-1, 1).contiguous();
  return out;
}

}  // namespace seg
