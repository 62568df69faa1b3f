#pragma once
// Instance normalisation (affine) followed by LeakyReLU in two passes over the data: one
// for the statistics, one that normalises, scales, shifts and activates. Replaces
// torch::instance_norm (batch_norm on a (1, B*C, ...) view with repeated weights, several
// passes and temporaries, and a copy to NCDHW for a channels-last input) + leaky_relu_.
// Same formula as PyTorch's InstanceNorm3d in training-statistics mode (the only mode
// nnU-Net uses): biased variance, y = (x - mean) / sqrt(var + eps) * weight + bias, then
// y > 0 ? y : slope * y.
//
// Two memory layouts, because oneDNN's 3D convolutions on this CPU run 1.3-2x faster on
// channels-last (NDHWC) tensors than on NCDHW ones at the U-Net's upper stages (measured,
// docs/performance.md) while PyTorch's own instance norm turns channels-last back into
// NCDHW: the fused inference path and the CPU training path (models/UNet.cpp) keep every
// activation channels-last from the first convolution to the head, and these kernels
// read and write that layout directly.
#include <torch/types.h>

namespace seg {

// Inference (no autograd). input (B, C, Z, Y, X) float32 on the CPU, either contiguous
// (NCDHW) or channels-last contiguous; weight and bias (C). The result is written to
// `output` (same shape; it may be `input` itself, or a channel slice of a larger
// (B, C', Z, Y, X) buffer of the same layout: for NCDHW each (b, c) plane must be
// contiguous, for channels-last the channels of each voxel).
void instanceNormLeakyRelu(const torch::Tensor& input, const torch::Tensor& output, const torch::Tensor& weight,
                           const torch::Tensor& bias, double eps, double negativeSlope);

// True when the training kernel below takes `x`: a float32 or bfloat16 CPU tensor
// (B, C, Z, Y, X).
bool instanceNormLeakyReluTrainableApplies(const torch::Tensor& x);

// The same operation with autograd (gradients for input, weight and bias), on a
// channels-last result: x (B, C, Z, Y, X) float32 or bfloat16 (what CPU autocast gives the
// norm) on the CPU, made channels-last contiguous if it is not; weight and bias float32.
// Statistics and arithmetic are float32 (double partial sums); the result has x's dtype. Saves x and the result for backward (what PyTorch's instance norm and in-place
// LeakyReLU save); backward is the instance-norm gradient
//   dx = weight * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)),  dy = dz * (z > 0 ? 1 : slope)
// in two passes. negativeSlope must be >= 0. No double backward.
torch::Tensor instanceNormLeakyReluTrainable(const torch::Tensor& x, const torch::Tensor& weight,
                                             const torch::Tensor& bias, double eps, double negativeSlope);

// x in channels-last layout: a view when that is the same memory (one channel), else a copy
// (none when it already is).
torch::Tensor channelsLast(const torch::Tensor& x);

}  // namespace seg
