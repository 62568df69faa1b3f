#pragma once
// Inference-only instance normalisation (affine) followed by LeakyReLU in two passes over
// each (sample, channel) plane: one for the statistics, one that normalises, scales,
// shifts and activates. Replaces torch::instance_norm (which in LibTorch 1.13 runs
// batch_norm on a (1, B*C, ...) view with repeated weights, several passes and
// temporaries) + leaky_relu_ in models/UNetInference.cpp. Same formula as PyTorch's
// InstanceNorm3d in training-statistics mode (the only mode nnU-Net uses): biased
// variance, y = (x - mean) / sqrt(var + eps) * weight + bias, then y > 0 ? y : slope * y.
#include <torch/types.h>

namespace seg {

// input (B, C, Z, Y, X) float32 on the CPU, contiguous; weight and bias (C). The result is
// written to `output` (same shape; it may be `input` itself, or a channel slice of a larger
// (B, C', Z, Y, X) buffer, so each (b, c) plane must be contiguous). No autograd.
void instanceNormLeakyRelu(const torch::Tensor& input, const torch::Tensor& output, const torch::Tensor& weight,
                           const torch::Tensor& bias, double eps, double negativeSlope);

}  // namespace seg
