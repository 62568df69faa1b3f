#pragma once
// 3D U-Net in the LibTorch module idiom (options struct, Impl, TORCH_MODULE).
// Topology follows nnU-Net's PlainConvUNet: per stage `convs_per_stage` blocks of
// conv -> norm -> LeakyReLU, downsampling by a strided first conv (not pooling),
// transposed-conv upsampling (kernel = stride), skip concatenation, 1x1x1 heads.
// encoder("residual") gives nnU-Net's ResidualEncoderUNet instead (dynamic_network_architectures
// 0.4.4): a stem conv, then per stage blocks_per_stage BasicBlockD residual blocks
// (models/ResidualBlocks.h), with the same decoder (docs/training.md, "Residual encoder U-Net").
//
// Parameter names: everything of the encoder (the residual stem included) is under
// "encoder." (fine-tuning freezes that prefix); plain: encoder.<stage>.<i>; residual:
// encoder.0 = stem, encoder.<stage + 1>.<block>.{conv1,conv2,skip}.{conv,norm}. Then
// upsample.<d>, decoder.<d>, head and (with deep supervision) ds_heads.<d>, d counted from
// the lowest resolution.
//
// Axis order: every per-axis option here (kernel_sizes, strides, sizeDivisors) is in
// tensor order (z, y, x), as Conv3dOptions. The config (model.strides etc.) is written
// in x, y, z like data.patch_size; the factory reverses it.
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <string>
#include <vector>

namespace seg {

// Per-axis sizes (z, y, x) of each stage.
using StageTriples = std::vector<std::array<int64_t, 3>>;

struct UNetOptions {
  UNetOptions(int64_t in_channels, int64_t num_classes)
      : in_channels_(in_channels), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, num_classes);
  // Channels per encoder stage; nnU-Net 3d_fullres: 32,64,128,256,320,320.
  TORCH_ARG(std::vector<int64_t>, features) = {32, 64, 128, 256, 320, 320};
  // plain: conv blocks per encoder stage (and per decoder stage unless
  // decoder_convs_per_stage says otherwise). Not used by the residual encoder.
  TORCH_ARG(int64_t, convs_per_stage) = 2;
  // plain | residual (nnU-Net's ResidualEncoderUNet encoder).
  TORCH_ARG(std::string, encoder) = "plain";
  // residual: BasicBlockD blocks per encoder stage, one entry per stage; empty = nnU-Net's
  // ResEnc planners' 1, 3, 4, 6, 6, 6, ... (first `features.size()` of them).
  TORCH_ARG(std::vector<int64_t>, blocks_per_stage) = {};
  // Conv blocks per decoder stage; 0 = convs_per_stage (nnU-Net's ResEnc presets use 1).
  TORCH_ARG(int64_t, decoder_convs_per_stage) = 0;
  // Bias in the transposed convolutions (nnU-Net: conv_bias, True in its plans). Off by
  // default so that plain networks keep their parameters (older checkpoints load).
  TORCH_ARG(bool, upsample_bias) = false;
  // Per-stage kernel sizes (z, y, x), odd; empty = 3 everywhere. One entry per stage.
  // The decoder stage at a resolution uses the encoder kernel of that resolution.
  TORCH_ARG(StageTriples, kernel_sizes) = {};
  // Per-stage stride (z, y, x) of the stage's first conv; empty = (1,1,1) for stage 0
  // and (2,2,2) after. Stage 0 must have stride 1 (the output is at input resolution).
  TORCH_ARG(StageTriples, strides) = {};
  // instance | batch | group (8 groups, or fewer when channels are few)
  TORCH_ARG(std::string, norm) = "instance";
  // LeakyReLU slope (nnU-Net uses 0.01); 0 gives ReLU.
  TORCH_ARG(double, negative_slope) = 0.01;
  TORCH_ARG(double, dropout) = 0.0;
  // Adds a 1x1x1 head to every decoder level so forwardAll() returns logits at each
  // resolution (nnU-Net deep supervision). forward() is unchanged.
  TORCH_ARG(bool, deep_supervision) = false;
  // Recomputes each encoder/decoder stage in backward instead of keeping its
  // activations (models/StageCheckpoint.h). Needs dropout 0 and no batch norm: the
  // recompute must reproduce the forward exactly.
  TORCH_ARG(bool, checkpointing) = false;
  // Eval-mode CPU forward without autograd takes the fused inference path
  // (models/UNetInference.h: oneDNN convolutions, fused instance norm + LeakyReLU, no
  // concatenation copies); false keeps the module-by-module forward everywhere.
  TORCH_ARG(bool, fused_inference) = true;
  // CPU forward with autograd (training) of a float32 input, also under bfloat16 autocast
  // (not fp16; instance norm; for the plain encoder not with checkpointing or
  // training-mode dropout): activations channels-last from the first convolution on, each
  // instance norm + LeakyReLU one autograd op (models/FusedNormAct.h). Same parameters,
  // same result within float rounding; the returned logits are NCDHW. false keeps the
  // module-by-module forward. The residual encoder takes the same path without grad
  // (evaluation) when fused_inference is on.
  TORCH_ARG(bool, fused_training) = true;
};

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(UNetOptions options);
  // (B, in_channels, Z, Y, X) -> logits (B, num_classes, Z, Y, X). Every spatial size
  // must be divisible by the product of the strides on its axis (sizeDivisors()).
  torch::Tensor forward(torch::Tensor x);
  // Logits at every decoder level, highest resolution first (element 0 == forward(x)).
  // One element when deep_supervision is off; stages-1 elements when it is on.
  std::vector<torch::Tensor> forwardAll(torch::Tensor x);
  void reset();
  const UNetOptions& options() const { return options_; }
  // Spatial sizes (z, y, x) must be multiples of these (product of the strides).
  std::array<int64_t, 3> sizeDivisors() const;
  // Largest of sizeDivisors() (the single divisor of an isotropic network).
  int64_t sizeDivisor() const;

 private:
  torch::nn::Sequential makeStage(int64_t in, int64_t out, const std::array<int64_t, 3>& kernel,
                                  const std::array<int64_t, 3>& firstStride, int64_t convs);
  torch::nn::Sequential makeResidualStage(int64_t in, int64_t out, const std::array<int64_t, 3>& kernel,
                                          const std::array<int64_t, 3>& firstStride, int64_t blocks);
  torch::nn::Sequential makeResidualDecoderStage(int64_t in, int64_t out, const std::array<int64_t, 3>& kernel);
  torch::Tensor runStage(torch::nn::ModuleList& list, size_t index, const torch::Tensor& x, bool fused);
  bool channelsLastApplies(const torch::Tensor& x) const;
  std::vector<torch::Tensor> run(torch::Tensor x, bool allLevels);
  void checkInput(const torch::Tensor& x) const;
  friend torch::Tensor fusedInferenceForward(UNetImpl& net, const torch::Tensor& x);
  UNetOptions options_;
  std::vector<std::array<int64_t, 3>> kernels_;
  std::vector<std::array<int64_t, 3>> strides_;
  std::vector<int64_t> blocks_;  // residual: blocks per stage
  int64_t decoderConvs_ = 0;     // decoder_convs_per_stage resolved
  size_t stemModules_ = 0;       // encoder_ entries before stage 0 (1 = the residual stem)
  torch::nn::ModuleList encoder_{nullptr};
  torch::nn::ModuleList upsample_{nullptr};
  torch::nn::ModuleList decoder_{nullptr};
  torch::nn::Conv3d head_{nullptr};
  torch::nn::ModuleList dsHeads_{nullptr};  // decoder levels below full resolution
};
TORCH_MODULE(UNet);

}  // namespace seg
