#include "infer/Ensemble.h"

#include <torch/torch.h>

#include <memory>

#include "core/Error.h"

namespace seg {

torch::Tensor batchProbabilities(const torch::Tensor& logits, bool sigmoid) {
  const auto x = logits.to(torch::kFloat32);
  return sigmoid ? torch::sigmoid(x) : torch::softmax(x, 1);
}

Network averagedProbabilities(std::vector<Network> members, bool sigmoid) {
  if (members.empty()) throw InternalError("averagedProbabilities: no members");
  auto shared = std::make_shared<const std::vector<Network>>(std::move(members));
  return [shared, sigmoid](const torch::Tensor& x) {
    // A running sum: one member's output at a time besides the sum.
    torch::Tensor sum;
    for (const Network& member : *shared) {
      torch::Tensor p = batchProbabilities(member(x), sigmoid);
      if (!sum.defined()) sum = p;
      else sum += p;
    }
    return sum / static_cast<double>(shared->size());
  };
}

}  // namespace seg
