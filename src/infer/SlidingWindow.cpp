#include "infer/SlidingWindow.h"

#include <torch/torch.h>

#include <cmath>

namespace seg {

std::vector<int64_t> slidingWindowSteps(int64_t size, int64_t patch, double overlap) {
  TORCH_CHECK(size >= patch, "sliding window: image size ", size, " is smaller than the patch ", patch);
  TORCH_CHECK(overlap >= 0.0 && overlap < 1.0, "sliding window: overlap must be in [0, 1), got ", overlap);
  const double target = static_cast<double>(patch) * (1.0 - overlap);
  const int64_t count = static_cast<int64_t>(std::ceil(static_cast<double>(size - patch) / target)) + 1;
  std::vector<int64_t> steps;
  const double actual = count > 1 ? static_cast<double>(size - patch) / static_cast<double>(count - 1) : 0.0;
  // nnU-Net rounds with np.round, which rounds halves to even; std::nearbyint does the
  // same in the default rounding mode (std::llround would round 8.5 up to 9).
  for (int64_t i = 0; i < count; ++i) steps.push_back(static_cast<int64_t>(std::nearbyint(actual * i)));
  return steps;
}

torch::Tensor gaussianImportance(const std::array<int64_t, 3>& patchZYX, double sigmaScale) {
  std::vector<torch::Tensor> axes;
  for (int64_t p : patchZYX) {
    const double sigma = std::max(1e-6, p * sigmaScale);
    const double centre = static_cast<double>(p / 2);  // nnU-Net centres at patch // 2
    auto d = torch::arange(p, torch::kFloat64) - centre;
    axes.push_back(torch::exp(-(d * d) / (2.0 * sigma * sigma)));
  }
  auto w = axes[0].view({-1, 1, 1}) * axes[1].view({1, -1, 1}) * axes[2].view({1, 1, -1});
  w = w / w.max();
  // Zero weights would divide by zero at tile borders that only one tile covers.
  const auto smallest = w.masked_select(w > 0).min();
  return torch::clamp_min(w, smallest).to(torch::kFloat32);
}

torch::Tensor slidingWindowInference(const torch::Tensor& image, const Network& network,
                                     const SlidingWindowOptions& options) {
  TORCH_CHECK(image.dim() == 4, "sliding window: expected (C, Z, Y, X), got ", image.sizes());
  const auto& patch = options.patchZYX;
  // Pad symmetrically (zero = mean after z-scoring) when the volume is smaller than a patch.
  std::vector<int64_t> pad;  // torch::constant_pad_nd order: last axis first
  std::array<int64_t, 3> before{};
  for (int a = 2; a >= 0; --a) {
    const int64_t missing = std::max<int64_t>(0, patch[a] - image.size(a + 1));
    before[a] = missing / 2;
    pad.push_back(missing / 2);
    pad.push_back(missing - missing / 2);
  }
  const auto padded = torch::constant_pad_nd(image, pad, 0.0);
  const std::array<int64_t, 3> dims{padded.size(1), padded.size(2), padded.size(3)};

  const auto weights = gaussianImportance(patch, options.sigmaScale).to(options.device);
  torch::Tensor logits;  // (K, Z, Y, X) on the device, fp32
  torch::Tensor norm = torch::zeros({dims[0], dims[1], dims[2]}, torch::TensorOptions().dtype(torch::kFloat32).device(options.device));

  std::vector<std::array<int64_t, 3>> tiles;
  for (int64_t z : slidingWindowSteps(dims[0], patch[0], options.overlap))
    for (int64_t y : slidingWindowSteps(dims[1], patch[1], options.overlap))
      for (int64_t x : slidingWindowSteps(dims[2], patch[2], options.overlap)) tiles.push_back({z, y, x});

  auto predict = [&](const torch::Tensor& batch) {
    auto out = network(batch).to(torch::kFloat32);
    if (!options.mirror) return out;
    // All 8 combinations of flipping Z, Y, X (spatial dims 2, 3, 4 of the batch).
    for (int mask = 1; mask < 8; ++mask) {
      std::vector<int64_t> flipDims;
      for (int a = 0; a < 3; ++a)
        if (mask & (1 << a)) flipDims.push_back(a + 2);
      out += network(batch.flip(flipDims)).to(torch::kFloat32).flip(flipDims);
    }
    return out / 8.0;
  };

  const auto source = padded.to(options.device);
  for (size_t first = 0; first < tiles.size(); first += options.tileBatch) {
    const size_t last = std::min(tiles.size(), first + static_cast<size_t>(options.tileBatch));
    std::vector<torch::Tensor> crops;
    for (size_t t = first; t < last; ++t) {
      const auto& s = tiles[t];
      crops.push_back(source.slice(1, s[0], s[0] + patch[0]).slice(2, s[1], s[1] + patch[1]).slice(3, s[2], s[2] + patch[2]));
    }
    const auto out = predict(torch::stack(crops));
    if (!logits.defined()) {
      logits = torch::zeros({out.size(1), dims[0], dims[1], dims[2]},
                            torch::TensorOptions().dtype(torch::kFloat32).device(options.device));
    }
    for (size_t t = first; t < last; ++t) {
      const auto& s = tiles[t];
      auto region = logits.slice(1, s[0], s[0] + patch[0]).slice(2, s[1], s[1] + patch[1]).slice(3, s[2], s[2] + patch[2]);
      region += out[static_cast<int64_t>(t - first)] * weights;
      norm.slice(0, s[0], s[0] + patch[0]).slice(1, s[1], s[1] + patch[1]).slice(2, s[2], s[2] + patch[2]) += weights;
    }
  }
  logits = logits / norm;
  logits = logits.slice(1, before[0], before[0] + image.size(1))
               .slice(2, before[1], before[1] + image.size(2))
               .slice(3, before[2], before[2] + image.size(3));
  return logits.to(torch::kCPU).contiguous();
}

}  // namespace seg
