#pragma once
// The U-Net's inference-only CPU forward (same weights, same result within 1e-5 as
// UNetImpl's module-by-module forward). UNetImpl::forward switches to it by itself when
// fusedInferenceApplies(); segeval, validation and the benchmark get it that way.
// What it does differently, each measured on the P6 benchmark (docs/evaluation.md):
// - every activation channels-last (NDHWC) from the first convolution to the head, where
//   oneDNN's 3D convolutions run 1.3-2x faster than on NCDHW at the upper stages; the
//   logits are returned in NCDHW;
// - every convolution through oneDNN (at::mkldnn_convolution); LibTorch 1.13 sends
//   batch-1 convolutions with few input planes (the 1-channel first layer, the deep
//   stages of a 64^3 tile) to the slow im2col path, 2-5x slower there;
// - instance norm + affine + LeakyReLU fused into one statistics pass and one in-place
//   apply pass (models/FusedNormAct.h) instead of batch_norm on a reshaped view with
//   repeated weights, then leaky_relu_;
// - no torch::cat: each skip is written by its stage directly into the second half of
//   the decoder's concatenation buffer, the transposed convolution's output copied into
//   the first half.
#include <torch/types.h>

namespace seg {

class UNetImpl;

// True for an eval-mode plain-encoder UNet with instance norm and fused_inference on, a float32 CPU
// input, no autograd recording and no CPU autocast (bf16 keeps the plain path).
bool fusedInferenceApplies(const UNetImpl& net, const torch::Tensor& x);

// The logits of UNetImpl::forward(x), computed as above. Requires fusedInferenceApplies().
torch::Tensor fusedInferenceForward(UNetImpl& net, const torch::Tensor& x);

}  // namespace seg
