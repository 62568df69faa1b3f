#include "models/ResidualBlocks.h"

#include <torch/nn.h>

#include "models/FusedNormAct.h"

#include <algorithm>

namespace seg {

namespace {
torch::ExpandingArray<3> expand(const std::array<int64_t, 3>& a) { return torch::ExpandingArray<3>({a[0], a[1], a[2]}); }

int64_t groupCount(int64_t channels) {
  // As UNet's stages: the largest divisor of `channels` not above 8.
  for (int64_t g = std::min<int64_t>(8, channels); g > 1; --g)
    if (channels % g == 0) return g;
  return 1;
}
}  // namespace

ConvNormActImpl::ConvNormActImpl(ConvNormActOptions options) : options_(std::move(options)) {
  const auto& k = options_.kernel();
  const int64_t out = options_.out_channels();
  TORCH_CHECK(options_.norm() == "instance" || options_.norm() == "batch" || options_.norm() == "group",
              "ConvNormAct: norm must be instance, batch or group, got '", options_.norm(), "'");
  conv_ = register_module("conv", torch::nn::Conv3d(torch::nn::Conv3dOptions(options_.in_channels(), out, expand(k))
                                                        .stride(expand(options_.stride()))
                                                        .padding(expand(Triple{k[0] / 2, k[1] / 2, k[2] / 2}))
                                                        .bias(options_.bias())));
  if (options_.dropout() > 0.0) {
    dropout_ = torch::nn::AnyModule(torch::nn::Dropout3d(torch::nn::Dropout3dOptions(options_.dropout())));
    register_module("dropout", dropout_.ptr());
  }
  if (options_.norm() == "instance") {
    // nnU-Net: InstanceNorm3d(eps=1e-5, affine=True).
    norm_ = torch::nn::AnyModule(torch::nn::InstanceNorm3d(torch::nn::InstanceNorm3dOptions(out).affine(true)));
  } else if (options_.norm() == "batch") {
    norm_ = torch::nn::AnyModule(torch::nn::BatchNorm3d(out));
  } else {
    norm_ = torch::nn::AnyModule(torch::nn::GroupNorm(torch::nn::GroupNormOptions(groupCount(out), out)));
  }
  register_module("norm", norm_.ptr());
  if (options_.activation()) {
    act_ = torch::nn::AnyModule(torch::nn::LeakyReLU(
        torch::nn::LeakyReLUOptions().negative_slope(options_.negative_slope()).inplace(true)));
    register_module("nonlin", act_.ptr());
  }
}

torch::Tensor ConvNormActImpl::forward(torch::Tensor x) {
  x = conv_->forward(x);
  if (!dropout_.is_empty()) x = dropout_.forward(x);
  // A channels-last activation means the U-Net chose its CPU channels-last path for this
  // call (UNetImpl::channelsLastApplies; the layout is the per-call signal, so concurrent
  // tile workers need no shared flag): norm + activation as the fused op that reads and
  // writes that layout. Without an activation the slope is 1 (max(y, y) = y).
  if (options_.norm() == "instance" && options_.negative_slope() >= 0.0 && instanceNormLeakyReluTrainableApplies(x) &&
      x.size(1) > 1 && !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast3d)) {
    auto* norm = norm_.ptr()->as<torch::nn::InstanceNorm3d>();
    return instanceNormLeakyReluTrainable(x, norm->weight, norm->bias, norm->options.eps(),
                                          options_.activation() ? options_.negative_slope() : 1.0);
  }
  x = norm_.forward(x);
  if (!act_.is_empty()) x = act_.forward(x);
  return x;
}

torch::Tensor ConvNormActImpl::normWeight() { return norm_.ptr()->named_parameters(false)["weight"]; }
torch::Tensor ConvNormActImpl::normBias() { return norm_.ptr()->named_parameters(false)["bias"]; }

BasicBlockDImpl::BasicBlockDImpl(const ConvNormActOptions& conv)
    : stride_(conv.stride()), slope_(conv.negative_slope()) {
  conv1_ = register_module("conv1", ConvNormAct(conv));
  // conv2: stride 1, never dropout, no activation (it comes after the addition).
  conv2_ = register_module("conv2", ConvNormAct(ConvNormActOptions(conv)
                                                     .in_channels(conv.out_channels())
                                                     .stride({1, 1, 1})
                                                     .dropout(0.0)
                                                     .activation(false)));
  pooled_ = stride_ != std::array<int64_t, 3>{1, 1, 1};
  if (conv.in_channels() != conv.out_channels()) {
    // A 1x1x1 projection, always without bias in nnU-Net (conv_bias is not passed on).
    skip_ = register_module("skip", ConvNormAct(ConvNormActOptions(conv)
                                                    .kernel({1, 1, 1})
                                                    .stride({1, 1, 1})
                                                    .bias(false)
                                                    .dropout(0.0)
                                                    .activation(false)));
  }
}

torch::Tensor BasicBlockDImpl::forward(torch::Tensor x) {
  torch::Tensor residual = x;
  if (pooled_) residual = torch::avg_pool3d(residual, stride_, stride_);
  if (skip_) residual = skip_->forward(residual);
  torch::Tensor out = conv2_->forward(conv1_->forward(x));
  out = out + residual;
  return torch::leaky_relu_(out, slope_);
}

void BasicBlockDImpl::zeroLastNorm() {
  torch::NoGradGuard noGrad;
  conv2_->normWeight().zero_();
  conv2_->normBias().zero_();
}

}  // namespace seg
