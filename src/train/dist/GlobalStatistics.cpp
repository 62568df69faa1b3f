#include "train/dist/GlobalStatistics.h"

#include <torch/torch.h>

#include "train/dist/ProcessGroup.h"

namespace seg::dist {

namespace {

// Carries the group through autograd's context (saved_data holds IValues).
struct GroupHolder : torch::CustomClassHolder {
  explicit GroupHolder(std::shared_ptr<ProcessGroup> g) : group(std::move(g)) {}
  std::shared_ptr<ProcessGroup> group;
};

class AllReduceSum : public torch::autograd::Function<AllReduceSum> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               c10::intrusive_ptr<GroupHolder> holder) {
    auto summed = input.contiguous().clone();
    holder->group->allReduceSum(summed);
    ctx->saved_data["group"] = c10::IValue::make_capsule(holder);
    return summed;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list gradOutputs) {
    auto holder = c10::static_intrusive_pointer_cast<GroupHolder>(ctx->saved_data["group"].toCapsule());
    auto grad = gradOutputs[0].contiguous().clone();
    holder->group->allReduceSum(grad);
    return {grad, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor allReduceSumWithGradient(const torch::Tensor& packed, std::shared_ptr<ProcessGroup> group) {
  TORCH_CHECK(packed.dim() == 1, "allReduceSumWithGradient: expected a 1-D tensor, got ", packed.sizes());
  return AllReduceSum::apply(packed, c10::make_intrusive<GroupHolder>(std::move(group)));
}

StatisticsReducer globalStatisticsReducer(std::shared_ptr<ProcessGroup> group) {
  return [group](const DiceStatistics& s) -> DiceStatistics {
    if (s.tp.dim() != 1) return s;
    const int64_t c = s.tp.size(0);
    // One collective for all three statistics (design.md: pack them).
    const auto packed = torch::cat({s.tp, s.sumP, s.sumG.to(s.tp.scalar_type())});
    const auto summed = allReduceSumWithGradient(packed, group);
    return DiceStatistics{summed.slice(0, 0, c), summed.slice(0, c, 2 * c), summed.slice(0, 2 * c, 3 * c)};
  };
}

}  // namespace seg::dist
