#include "models/UNet.h"

#include <torch/nn.h>

#include <algorithm>
#include <numeric>

namespace seg {

namespace {
int64_t groupCount(int64_t channels) {
  // The largest divisor of `channels` not above 8 keeps GroupNorm valid for any width.
  for (int64_t g = std::min<int64_t>(8, channels); g > 1; --g)
    if (channels % g == 0) return g;
  return 1;
}
}  // namespace

UNetImpl::UNetImpl(UNetOptions options) : options_(std::move(options)) { reset(); }

torch::nn::Sequential UNetImpl::makeStage(int64_t in, int64_t out, int64_t firstStride) {
  torch::nn::Sequential stage;
  for (int64_t i = 0; i < options_.convs_per_stage(); ++i) {
    const int64_t cin = i == 0 ? in : out;
    stage->push_back(torch::nn::Conv3d(torch::nn::Conv3dOptions(cin, out, 3)
                                           .stride(i == 0 ? firstStride : 1)
                                           .padding(1)
                                           .bias(true)));
    const std::string& norm = options_.norm();
    if (norm == "instance") {
      // nnU-Net: InstanceNorm3d(eps=1e-5, affine=True).
      stage->push_back(torch::nn::InstanceNorm3d(torch::nn::InstanceNorm3dOptions(out).affine(true)));
    } else if (norm == "batch") {
      stage->push_back(torch::nn::BatchNorm3d(out));
    } else {
      stage->push_back(torch::nn::GroupNorm(torch::nn::GroupNormOptions(groupCount(out), out)));
    }
    if (options_.dropout() > 0.0) {
      stage->push_back(torch::nn::Dropout3d(torch::nn::Dropout3dOptions(options_.dropout())));
    }
    // In-place is safe: the norm output is not needed for its own backward.
    stage->push_back(torch::nn::LeakyReLU(
        torch::nn::LeakyReLUOptions().negative_slope(options_.negative_slope()).inplace(true)));
  }
  return stage;
}

void UNetImpl::reset() {
  const auto& f = options_.features();
  TORCH_CHECK(!f.empty(), "UNet: features must not be empty");
  TORCH_CHECK(options_.in_channels() > 0 && options_.num_classes() > 0,
              "UNet: in_channels and num_classes must be positive");
  TORCH_CHECK(options_.convs_per_stage() >= 1, "UNet: convs_per_stage must be >= 1");
  TORCH_CHECK(options_.norm() == "instance" || options_.norm() == "batch" || options_.norm() == "group",
              "UNet: norm must be instance, batch or group, got '", options_.norm(), "'");

  encoder_ = register_module("encoder", torch::nn::ModuleList());
  upsample_ = register_module("upsample", torch::nn::ModuleList());
  decoder_ = register_module("decoder", torch::nn::ModuleList());
  int64_t in = options_.in_channels();
  for (size_t s = 0; s < f.size(); ++s) {
    encoder_->push_back(makeStage(in, f[s], s == 0 ? 1 : 2));
    in = f[s];
  }
  // Decoder stage s (s = stages-2 .. 0) upsamples from stage s+1 and fuses the skip of stage s.
  for (size_t s = f.size() - 1; s-- > 0;) {
    upsample_->push_back(torch::nn::ConvTranspose3d(
        torch::nn::ConvTranspose3dOptions(f[s + 1], f[s], 2).stride(2).bias(false)));
    decoder_->push_back(makeStage(2 * f[s], f[s], 1));
  }
  head_ = register_module("head", torch::nn::Conv3d(torch::nn::Conv3dOptions(f[0], options_.num_classes(), 1)));

  // He initialisation as nnU-Net's InitWeights_He(neg_slope=1e-2): kaiming normal with
  // the LeakyReLU slope, zero biases.
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv3d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, options_.negative_slope());
      if (conv->bias.defined()) torch::nn::init::zeros_(conv->bias);
    } else if (auto* up = module->as<torch::nn::ConvTranspose3d>()) {
      torch::nn::init::kaiming_normal_(up->weight, options_.negative_slope());
    }
  }
}

int64_t UNetImpl::sizeDivisor() const { return int64_t{1} << (options_.features().size() - 1); }

torch::Tensor UNetImpl::forward(torch::Tensor x) {
  const int64_t stages = static_cast<int64_t>(options_.features().size());
  TORCH_CHECK(x.dim() == 5 && x.size(1) == options_.in_channels(), "UNet: expected input (B, ",
              options_.in_channels(), ", Z, Y, X), got ", x.sizes());
  const int64_t div = sizeDivisor();
  TORCH_CHECK(x.size(2) % div == 0 && x.size(3) % div == 0 && x.size(4) % div == 0,
              "UNet: spatial size ", x.sizes().slice(2), " must be divisible by ", div);
  std::vector<torch::Tensor> skips;
  skips.reserve(stages);
  for (int64_t s = 0; s < stages; ++s) {
    x = encoder_[s]->as<torch::nn::Sequential>()->forward(x);
    skips.push_back(x);
  }
  for (int64_t d = 0; d < stages - 1; ++d) {
    const int64_t s = stages - 2 - d;
    x = upsample_[d]->as<torch::nn::ConvTranspose3d>()->forward(x);
    x = torch::cat({x, skips[s]}, 1);
    x = decoder_[d]->as<torch::nn::Sequential>()->forward(x);
  }
  return head_->forward(x);
}

}  // namespace seg
