#include "models/StageCheckpoint.h"

#include <ATen/autocast_mode.h>
#include <torch/autograd.h>

#include "core/Autocast.h"

namespace seg {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What the backward needs besides tensors; carried in the context as an IValue
// capsule so the stage stays alive exactly as long as the graph that needs it.
struct StageCapsule : torch::CustomClassHolder {
  std::shared_ptr<torch::nn::SequentialImpl> stage;
  c10::DeviceType device = c10::DeviceType::CPU;
  bool autocast = false;
  c10::ScalarType autocastDtype = c10::ScalarType::BFloat16;
};

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  // `parameters` are inputs only so that the engine routes their gradients to
  // AccumulateGrad; the stage reads its own parameters.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, torch::TensorList parameters,
                               const c10::intrusive_ptr<StageCapsule>& capsule) {
    ctx->save_for_backward({input});
    ctx->saved_data["stage"] = c10::IValue::make_capsule(capsule);
    // Function::apply already disabled grad mode: nothing inside is recorded.
    return capsule->stage->forward(input);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    auto capsule = c10::static_intrusive_pointer_cast<StageCapsule>(ctx->saved_data["stage"].toCapsule());
    const torch::Tensor saved = ctx->get_saved_variables()[0];
    const auto parameters = capsule->stage->parameters();
    torch::Tensor input = saved.detach().requires_grad_(saved.requires_grad());
    torch::Tensor output;
    {
      torch::AutoGradMode enable(true);
      AutocastGuard autocast(capsule->device, capsule->autocast, capsule->autocastDtype);
      output = capsule->stage->forward(input);
    }
    variable_list wrt;
    if (input.requires_grad()) wrt.push_back(input);
    for (const auto& p : parameters)
      if (p.requires_grad()) wrt.push_back(p);
    variable_list grads;
    if (!wrt.empty()) {
      grads = torch::autograd::grad({output}, wrt, {gradOutputs[0]}, /*retain_graph=*/false,
                                    /*create_graph=*/false, /*allow_unused=*/true);
    }
    // One gradient per forward argument, expanded: input, each parameter, capsule.
    variable_list result;
    size_t next = 0;
    result.push_back(input.requires_grad() ? grads[next++] : torch::Tensor());
    for (const auto& p : parameters) result.push_back(p.requires_grad() ? grads[next++] : torch::Tensor());
    result.push_back(torch::Tensor());
    return result;
  }
};

}  // namespace

torch::Tensor checkpointStage(std::shared_ptr<torch::nn::SequentialImpl> stage, const torch::Tensor& input) {
  TORCH_CHECK(stage, "checkpointStage: stage is null");
  auto capsule = c10::make_intrusive<StageCapsule>();
  capsule->stage = std::move(stage);
  capsule->device = input.device().type();
  capsule->autocast = at::autocast::is_autocast_enabled(capsule->device);
  if (capsule->autocast) capsule->autocastDtype = at::autocast::get_autocast_dtype(capsule->device);
  const auto parameters = capsule->stage->parameters();
  return CheckpointFunction::apply(input, torch::TensorList(parameters), capsule);
}

}  // namespace seg
