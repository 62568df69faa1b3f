#include "models/UNetInference.h"

#include <torch/nn.h>

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>

#include "models/FusedNormAct.h"
#include "models/UNet.h"

namespace seg {

namespace {

std::vector<int64_t> vec(const std::array<int64_t, 3>& a) { return {a[0], a[1], a[2]}; }

// oneDNN for every shape when this LibTorch has it (at::_convolution's heuristic would
// pick im2col for batch-1 inputs with few planes); the result is the same convolution.
// x is channels-last and so is the result (oneDNN follows the input's layout).
torch::Tensor convolution(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                          const std::vector<int64_t>& stride, const std::vector<int64_t>& padding) {
  const std::vector<int64_t> dilation{1, 1, 1};
  if (at::hasMKLDNN()) return channelsLast(at::mkldnn_convolution(x, weight, bias, padding, stride, dilation, 1));
  return channelsLast(at::conv3d(x, weight, bias, stride, padding, dilation, 1));
}

// Transposed convolution with kernel == stride (no overlap, optional bias), written into `out`
// (B, Cout, D*kz, H*ky, W*kx), a channel slice of the channels-last concatenation buffer.
// Each input voxel becomes a kz*ky*kx block, so it is one GEMM (D*H*W, Cin) x (Cin, K*Cout)
// per sample on the channels-last input and a strided copy of Cout-long runs into place
// (what slow_conv_transpose3d computes, without its col2vol pass and the separate copy
// that torch::cat would make).
void upsampleInto(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                  const std::array<int64_t, 3>& k, const torch::Tensor& out) {
  const int64_t cin = x.size(1), cout = weight.size(1), d = x.size(2), h = x.size(3), w = x.size(4);
  // weight (Cin, Cout, kz, ky, kx) -> (Cin, kz*ky*kx*Cout): columns ordered as the output voxels.
  const auto matrix = weight.permute({0, 2, 3, 4, 1}).reshape({cin, k[0] * k[1] * k[2] * cout});
  for (int64_t b = 0; b < x.size(0); ++b) {
    const auto voxels = x[b].permute({1, 2, 3, 0}).reshape({d * h * w, cin});
    const auto y = at::mm(voxels, matrix).view({d, h, w, k[0], k[1], k[2], cout});
    out[b].permute({1, 2, 3, 0}).view({d, k[0], h, k[1], w, k[2], cout}).copy_(y.permute({0, 3, 1, 4, 2, 5, 6}));
  }
  if (bias.defined()) out.add_(bias.view({1, cout, 1, 1, 1}));
}

// One encoder/decoder stage: convs_per_stage x (conv -> instance norm -> [dropout: identity
// in eval] -> LeakyReLU). The last block writes into `into` when it is defined (a channel
// slice of the decoder's concatenation buffer), else into its own tensor.
torch::Tensor runStage(const torch::nn::SequentialImpl& stage, const std::array<int64_t, 3>& kernel,
                       const std::array<int64_t, 3>& firstStride, torch::Tensor x, const torch::Tensor& into) {
  const std::vector<int64_t> padding{kernel[0] / 2, kernel[1] / 2, kernel[2] / 2};
  const size_t n = stage.size();
  bool first = true;
  for (size_t i = 0; i < n; ++i) {
    if (auto* conv = stage[i]->as<torch::nn::Conv3d>()) {
      x = convolution(x, conv->weight, conv->bias, first ? vec(firstStride) : std::vector<int64_t>{1, 1, 1}, padding);
      first = false;
    } else if (auto* norm = stage[i]->as<torch::nn::InstanceNorm3d>()) {
      // The activation that follows (skipping dropout) and whether this is the stage's last block.
      double slope = 1.0;  // no activation: max(y, 1 * y) = y
      bool last = true;
      for (size_t j = i + 1; j < n; ++j) {
        if (auto* act = stage[j]->as<torch::nn::LeakyReLU>()) {
          slope = act->options.negative_slope();
        } else if (stage[j]->as<torch::nn::Conv3d>()) {
          last = false;
          break;
        }
      }
      const torch::Tensor out = last && into.defined() ? into : x;
      instanceNormLeakyRelu(x, out, norm->weight, norm->bias, norm->options.eps(), slope);
      x = out;
    }
    // LeakyReLU is folded into the norm above; Dropout3d is the identity in eval mode.
  }
  return x;
}

}  // namespace

bool fusedInferenceApplies(const UNetImpl& net, const torch::Tensor& x) {
  // The residual encoder's blocks have no fused path (yet): it keeps the module forward.
  return net.options().fused_inference() && net.options().encoder() == "plain" && !net.is_training() &&
         net.options().norm() == "instance" &&
         !torch::GradMode::is_enabled() && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
         !at::autocast::is_autocast_enabled(c10::DeviceType::CPU);
}

torch::Tensor fusedInferenceForward(UNetImpl& net, const torch::Tensor& input) {
  TORCH_CHECK(fusedInferenceApplies(net, input),
              "UNet: the fused inference path needs eval mode, instance norm, a float32 CPU input, no autograd "
              "and no autocast");
  net.checkInput(input);
  const auto& f = net.options().features();
  const auto stages = static_cast<int64_t>(f.size());
  const int64_t batch = input.size(0);
  // concat[s] = [upsampled stage s+1 | skip of stage s], (B, 2 f[s], size of stage s).
  std::vector<torch::Tensor> concat(stages);
  torch::Tensor x = channelsLast(input);
  const auto layout = input.options().memory_format(at::MemoryFormat::ChannelsLast3d);
  std::array<int64_t, 3> size{input.size(2), input.size(3), input.size(4)};
  for (int64_t s = 0; s < stages; ++s) {
    for (int a = 0; a < 3; ++a) size[a] /= net.strides_[s][a];
    torch::Tensor skip;
    if (s + 1 < stages) {
      concat[s] = torch::empty({batch, 2 * f[s], size[0], size[1], size[2]}, layout);
      skip = concat[s].narrow(1, f[s], f[s]);
    }
    x = runStage(*net.encoder_[s]->as<torch::nn::Sequential>(), net.kernels_[s], net.strides_[s], x, skip);
  }
  for (int64_t d = 0; d + 1 < stages; ++d) {
    const int64_t s = stages - 2 - d;
    const auto* up = net.upsample_[d]->as<torch::nn::ConvTranspose3d>();
    upsampleInto(x, up->weight, up->bias, net.strides_[s + 1], concat[s].narrow(1, 0, f[s]));
    x = runStage(*net.decoder_[d]->as<torch::nn::Sequential>(), net.kernels_[s], {1, 1, 1}, concat[s], {});
    concat[s] = torch::Tensor();
  }
  // The logits leave in NCDHW, the layout every caller of forward() gets (one copy of
  // num_classes channels).
  return convolution(x, net.head_->weight, net.head_->bias, {1, 1, 1}, {0, 0, 0}).contiguous();
}

}  // namespace seg
