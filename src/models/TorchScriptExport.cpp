#include "models/TorchScriptExport.h"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/torch.h>

#include <sstream>
#include <stdexcept>

#include "models/UNet.h"

namespace seg {

namespace {

// "encoder.0.1" -> "encoder_0_1": a class name per module path (the type of each jit module).
std::string classSuffix(const std::string& path) {
  std::string out;
  for (char c : path) out += c == '.' ? '_' : c;
  return out;
}

// A jit module holding `module`'s own parameters and buffers (the same tensors, not copies)
// and one child per C++ child, recursively, under the same names. "training" is there
// because Python's ScriptModule.train()/eval() set it on every module of the tree.
torch::jit::Module mirror(const torch::nn::Module& module, const std::string& path,
                          const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
  const std::string name = "__torch__.segtrain." + (path.empty() ? std::string("UNet") : "UNet_" + classSuffix(path));
  torch::jit::Module jit(c10::QualifiedName(name), cu, /*shouldMangle=*/true);
  jit.register_attribute("training", c10::BoolType::get(), false);
  for (const auto& p : module.named_parameters(/*recurse=*/false))
    if (p.value().defined()) jit.register_parameter(p.key(), p.value(), /*is_buffer=*/false);
  for (const auto& b : module.named_buffers(/*recurse=*/false))
    if (b.value().defined()) jit.register_buffer(b.key(), b.value());
  for (const auto& child : module.named_children())
    jit.register_module(child.key(), mirror(*child.value(), path.empty() ? child.key() : path + "." + child.key(), cu));
  return jit;
}

}  // namespace

std::string torchScriptArchive(UNetImpl& net, const std::array<int64_t, 3>& exampleSizeZyx,
                               const std::string& metadataJson) {
  TORCH_CHECK(!net.is_training(), "torchScriptArchive: the network must be in eval mode (net->eval())");
  TORCH_CHECK(!net.options().fused_inference(),
              "torchScriptArchive: build the UNet with fused_inference(false); the fused CPU path cannot be traced");
  const torch::Device device = net.parameters().front().device();
  const torch::Tensor example = torch::zeros(
      {1, net.options().in_channels(), exampleSizeZyx[0], exampleSizeZyx[1], exampleSizeZyx[2]},
      torch::TensorOptions().device(device));
  torch::NoGradGuard noGrad;

  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module module = mirror(net, "", cu);
  module.register_attribute(kTorchScriptMetadataAttribute, c10::StringType::get(), metadataJson);
  // torch.jit.trace's recipe (script_init.cpp, _create_method_from_trace): trace with the
  // module as `self`, then the graph becomes the type's method.
  auto traced = torch::jit::tracer::trace(
      {example},
      [&](torch::jit::Stack inputs) -> torch::jit::Stack { return {net.forward(inputs.at(0).toTensor())}; },
      [](const torch::autograd::Variable&) { return std::string(); }, /*strict=*/true, /*force_outplace=*/false,
      &module, /*argument_names=*/{"x"});
  auto* fn = cu->create_function(c10::QualifiedName(*module.type()->name(), "forward"), traced.first->graph);
  module.type()->addMethod(fn);

  std::ostringstream out;
  module.save(out, {{kTorchScriptMetadataFile, metadataJson}});
  std::string bytes = out.str();

  // The archive, read back, must be the network: a missed tensor would be a constant of the
  // graph (still "correct" but no longer the module's weights), a wrong op a wrong result.
  std::istringstream in(bytes);
  torch::jit::Module loaded = torch::jit::load(in, device);
  const torch::Tensor probe = torch::randn(example.sizes(), example.options());
  const torch::Tensor expected = net.forward(probe);
  const torch::Tensor actual = loaded.forward({probe}).toTensor();
  const double diff = (actual - expected).abs().max().item<double>();
  if (!(diff <= 1e-4)) {
    throw std::runtime_error("torchScriptArchive: the saved module differs from the network by " +
                             std::to_string(diff) + " (max abs logit difference)");
  }
  // Every tensor of the graph comes from the module (a GetAttr), none is baked in as a constant.
  for (const torch::jit::Node* node : traced.first->graph->nodes()) {
    if (node->kind() == c10::prim::Constant && node->output()->type()->cast<c10::TensorType>()) {
      throw std::runtime_error("torchScriptArchive: the traced graph holds a tensor constant (a weight not taken "
                               "from the module)");
    }
  }
  return bytes;
}

}  // namespace seg
