#pragma once
// The U-Net as a TorchScript archive (what Python's torch.jit.save writes and torch.jit.load,
// LibTorch's torch::jit::load, Triton's PyTorch backend and TorchServe read), made by tracing
// its module-by-module eval forward (docs/deployment.md).
//
// How: a torch::jit::Module tree mirrors the C++ module tree (same child names, so the
// archive's parameter names are the checkpoint's, "encoder.0.0.weight", ...) and holds the
// very same tensors; forward(x) of the C++ module is recorded with the JIT tracer with that
// jit module as `self` (what torch.jit.trace does in Python: tracer.cpp's
// gatherParametersAndBuffers maps each attribute tensor to a GetAttr of self, so the graph
// reads the weights from the module instead of baking them in as constants), and the graph
// becomes its method "forward". The trace records convolutions, norms, activations and
// concatenations with their constant strides/paddings but no sizes, so the module runs on any
// batch size and any spatial size divisible by the strides (sizeDivisors()), on CPU or after
// .to("cuda"). The deep-supervision heads are not in it: only forward() is traced.
// No torch in this header.
#include <array>
#include <cstdint>
#include <string>

namespace seg {

class UNetImpl;

// Name of the archive's extra file and of the module's string attribute that both hold the
// metadata JSON given to torchScriptArchive.
inline constexpr const char* kTorchScriptMetadataFile = "segtrain.json";
inline constexpr const char* kTorchScriptMetadataAttribute = "segtrain_metadata";

// The bytes of a TorchScript archive of `net`'s forward, traced on a zero input of shape
// (1, in_channels, exampleSizeZyx). `net` must be in eval mode and built with
// fused_inference(false) (the fused CPU path writes into preallocated buffers the tracer would
// record with fixed sizes). Before returning, the archive is loaded back and run on a random
// input of that shape; a result that differs from net's forward by more than 1e-4 throws
// std::runtime_error (an internal failure). Throws c10::Error for an invalid size.
std::string torchScriptArchive(UNetImpl& net, const std::array<int64_t, 3>& exampleSizeZyx,
                               const std::string& metadataJson);

}  // namespace seg
