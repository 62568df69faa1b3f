#pragma once
// Activation checkpointing for one network stage. LibTorch's C++ frontend has no
// torch.utils.checkpoint, so this is a custom torch::autograd::Function: the forward
// runs the stage without recording a graph and keeps only the stage input; the
// backward runs the stage again with grad enabled (under the autocast state the
// forward saw) and differentiates that recompute. Memory per stage drops from all
// intermediate activations (conv, norm, activation outputs) to the input alone, at
// the price of one extra stage forward in backward.
//
// The recompute must reproduce the forward: no dropout, no batch norm (running
// statistics would be updated twice). UNet checks this for its options.
#include <torch/nn/modules/container/sequential.h>

#include <memory>

namespace seg {

torch::Tensor checkpointStage(std::shared_ptr<torch::nn::SequentialImpl> stage, const torch::Tensor& input);

}  // namespace seg
