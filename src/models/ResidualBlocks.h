#pragma once
// Building blocks of the residual-encoder U-Net (UNetOptions::encoder "residual"), after
// dynamic_network_architectures 0.4.4 (building_blocks/simple_conv_blocks.py, residual.py),
// the package nnU-Net's ResidualEncoderUNet comes from. Child names follow that package
// (conv, norm; conv1, conv2, skip) so that a name map to nnU-Net's state dict is short
// (scripts/reference/resenc_reference.py, tests/unit/models/ResEncUNetTest.cpp).
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <string>

namespace seg {

using Triple = std::array<int64_t, 3>;  // (z, y, x)

struct ConvNormActOptions {
  ConvNormActOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(Triple, kernel) = {3, 3, 3};  // odd sizes; same padding
  TORCH_ARG(Triple, stride) = {1, 1, 1};
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(std::string, norm) = "instance";  // instance | batch | group
  TORCH_ARG(double, dropout) = 0.0;
  // LeakyReLU slope; 0 gives ReLU. activation false ends the block at the norm.
  TORCH_ARG(double, negative_slope) = 0.01;
  TORCH_ARG(bool, activation) = true;
};

// ConvDropoutNormReLU: conv -> [Dropout3d] -> norm -> [LeakyReLU] (nnU-Net's order: the
// dropout sits before the norm here, after it in the plain UNet's stages). With instance norm
// and a channels-last CPU activation (the U-Net's CPU channels-last path) the norm and the
// activation run as one fused op (models/FusedNormAct.h), the result channels-last.
class ConvNormActImpl : public torch::nn::Module {
 public:
  explicit ConvNormActImpl(ConvNormActOptions options);
  torch::Tensor forward(torch::Tensor x);
  // Weight and bias of the norm (both zeroed by init_last_bn_before_add_to_0).
  torch::Tensor normWeight();
  torch::Tensor normBias();
  const ConvNormActOptions& options() const { return options_; }

 private:
  ConvNormActOptions options_;
  torch::nn::Conv3d conv_{nullptr};
  torch::nn::AnyModule dropout_;
  torch::nn::AnyModule norm_;
  torch::nn::AnyModule act_;
};
TORCH_MODULE(ConvNormAct);

// BasicBlockD (ResNet-D, He et al. 2019): conv1 (with the stride and the dropout) and conv2
// (no activation) on the main path; the skip is AvgPool(stride) when strided, then a 1x1
// conv without bias + norm when the channel count changes; out = act(main + skip).
class BasicBlockDImpl : public torch::nn::Module {
 public:
  // `conv` describes conv1: in -> out channels, kernel, stride, norm, dropout, slope.
  explicit BasicBlockDImpl(const ConvNormActOptions& conv);
  torch::Tensor forward(torch::Tensor x);
  // nnU-Net's init_last_bn_before_add_to_0: conv2's norm weight and bias set to 0, so the
  // block starts as act(skip(x)).
  void zeroLastNorm();

 private:
  std::array<int64_t, 3> stride_;
  bool pooled_ = false;
  double slope_;
  ConvNormAct conv1_{nullptr};
  ConvNormAct conv2_{nullptr};
  ConvNormAct skip_{nullptr};  // null when the channels do not change
};
TORCH_MODULE(BasicBlockD);

}  // namespace seg
