#pragma once
// 3D U-Net in the LibTorch module idiom (options struct, Impl, TORCH_MODULE).
// Topology follows nnU-Net's PlainConvUNet: per stage `convs_per_stage` blocks of
// conv -> norm -> LeakyReLU, downsampling by a strided first conv (not pooling),
// transposed-conv upsampling, skip concatenation, a 1x1x1 head.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/arg.h>

#include <string>
#include <vector>

namespace seg {

struct UNetOptions {
  UNetOptions(int64_t in_channels, int64_t num_classes)
      : in_channels_(in_channels), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, num_classes);
  // Channels per encoder stage; nnU-Net 3d_fullres: 32,64,128,256,320,320.
  TORCH_ARG(std::vector<int64_t>, features) = {32, 64, 128, 256, 320, 320};
  TORCH_ARG(int64_t, convs_per_stage) = 2;
  // instance | batch | group (8 groups, or fewer when channels are few)
  TORCH_ARG(std::string, norm) = "instance";
  // LeakyReLU slope (nnU-Net uses 0.01); 0 gives ReLU.
  TORCH_ARG(double, negative_slope) = 0.01;
  TORCH_ARG(double, dropout) = 0.0;
};

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(UNetOptions options);
  // (B, in_channels, Z, Y, X) -> logits (B, num_classes, Z, Y, X). Every spatial size
  // must be divisible by 2^(stages-1).
  torch::Tensor forward(torch::Tensor x);
  void reset();
  const UNetOptions& options() const { return options_; }
  // Spatial sizes must be multiples of this.
  int64_t sizeDivisor() const;

 private:
  torch::nn::Sequential makeStage(int64_t in, int64_t out, int64_t firstStride);
  UNetOptions options_;
  torch::nn::ModuleList encoder_{nullptr};
  torch::nn::ModuleList upsample_{nullptr};
  torch::nn::ModuleList decoder_{nullptr};
  torch::nn::Conv3d head_{nullptr};
};
TORCH_MODULE(UNet);

}  // namespace seg
