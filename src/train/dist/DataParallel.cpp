#include "train/dist/DataParallel.h"

#include <torch/torch.h>

#include <map>

#include "train/dist/GlobalStatistics.h"
#include "train/dist/ProcessGroup.h"

namespace seg::dist {

namespace {

// Flattens same-typed tensors into one buffer, runs `collective` on it and copies
// the result back: one collective for many small tensors.
void coalesced(const std::vector<torch::Tensor>& tensors, const std::function<void(std::vector<torch::Tensor>&)>& run) {
  if (tensors.empty()) return;
  std::vector<torch::Tensor> flat;
  flat.reserve(tensors.size());
  for (const auto& t : tensors) flat.push_back(t.reshape({-1}));
  std::vector<torch::Tensor> buffer{torch::cat(flat)};
  run(buffer);
  int64_t offset = 0;
  for (const auto& t : tensors) {
    const int64_t n = t.numel();
    t.copy_(buffer[0].slice(0, offset, offset + n).view_as(t));
    offset += n;
  }
}

}  // namespace

DataParallel::DataParallel(std::shared_ptr<ProcessGroup> group, int64_t bucketBytes)
    : group_(std::move(group)), bucketBytes_(std::max<int64_t>(1, bucketBytes)) {
  TORCH_CHECK(group_, "DataParallel: no process group");
}

int DataParallel::rank() const { return group_->rank(); }
int DataParallel::worldSize() const { return group_->size(); }

void DataParallel::broadcastFromMain(torch::nn::Module& module) const {
  torch::NoGradGuard noGrad;
  std::map<c10::ScalarType, std::vector<torch::Tensor>> byType;
  for (const auto& p : module.parameters()) byType[p.scalar_type()].push_back(p);
  for (const auto& b : module.buffers()) byType[b.scalar_type()].push_back(b);
  for (auto& [type, tensors] : byType) {
    coalesced(tensors, [&](std::vector<torch::Tensor>& buffer) { group_->broadcast(buffer, 0); });
  }
}

void DataParallel::averageGradients(const std::vector<torch::Tensor>& parameters) const {
  torch::NoGradGuard noGrad;
  // Buckets of consecutive same-typed gradients up to bucketBytes_; all launched, then
  // all waited for (ProcessGroup::allReduceSum), then scaled by 1/W and copied back.
  std::vector<std::vector<torch::Tensor>> buckets;
  int64_t bytes = 0;
  c10::ScalarType type = c10::ScalarType::Undefined;
  for (const auto& p : parameters) {
    if (!p.requires_grad()) continue;
    auto& grad = const_cast<torch::Tensor&>(p).mutable_grad();
    if (!grad.defined()) grad = torch::zeros_like(p);
    const int64_t size = grad.numel() * static_cast<int64_t>(grad.element_size());
    if (buckets.empty() || grad.scalar_type() != type || bytes + size > bucketBytes_) {
      buckets.emplace_back();
      bytes = 0;
      type = grad.scalar_type();
    }
    buckets.back().push_back(grad);
    bytes += size;
  }
  std::vector<torch::Tensor> flat;
  flat.reserve(buckets.size());
  for (const auto& bucket : buckets) {
    std::vector<torch::Tensor> pieces;
    for (const auto& g : bucket) pieces.push_back(g.reshape({-1}));
    flat.push_back(torch::cat(pieces));
  }
  group_->allReduceSum(flat);
  const double scale = 1.0 / static_cast<double>(worldSize());
  for (size_t b = 0; b < buckets.size(); ++b) {
    flat[b].mul_(scale);
    int64_t offset = 0;
    for (auto& g : buckets[b]) {
      const int64_t n = g.numel();
      g.copy_(flat[b].slice(0, offset, offset + n).view_as(g));
      offset += n;
    }
  }
}

StatisticsReducer DataParallel::statisticsReducer() const { return globalStatisticsReducer(group_); }

std::function<void(torch::Tensor&)> DataParallel::foundInfReducer() const {
  auto group = group_;
  return [group](torch::Tensor& flag) { group->allReduceSum(flag); };
}

bool DataParallel::any(bool flag) const {
  auto t = torch::full({1}, flag ? 1.0f : 0.0f, torch::TensorOptions().dtype(torch::kFloat32).device(group_->device()));
  group_->allReduceSum(t);
  return t.item<float>() > 0.0f;
}

void DataParallel::sum(std::vector<double>& values) const {
  if (values.empty()) return;
  auto t = torch::tensor(values, torch::kFloat64).to(group_->device());
  group_->allReduceSum(t);
  t = t.to(torch::kCPU);
  for (size_t i = 0; i < values.size(); ++i) values[i] = t[static_cast<int64_t>(i)].item<double>();
}

}  // namespace seg::dist
