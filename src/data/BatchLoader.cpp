#include "data/BatchLoader.h"

#include <algorithm>

namespace seg {

BatchLoader::BatchLoader(std::shared_ptr<const PatchSampler> sampler, int workers, int depth, uint64_t firstIndex)
    : sampler_(std::move(sampler)), depth_(std::max(1, depth)), nextOut_(firstIndex), nextClaim_(firstIndex) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  consumed_.notify_all();
  for (auto& t : threads_) t.join();
}

void BatchLoader::work() {
  for (;;) {
    uint64_t index;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      consumed_.wait(lock, [&] { return stop_ || nextClaim_ < nextOut_ + depth_; });
      if (stop_) return;
      index = nextClaim_++;
    }
    try {
      Batch batch = sampler_->sample(index);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(index, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
    produced_.notify_all();
  }
}

Batch BatchLoader::next() {
  if (threads_.empty()) return sampler_->sample(nextOut_++);
  std::unique_lock<std::mutex> lock(mutex_);
  produced_.wait(lock, [&] { return failure_ || ready_.count(nextOut_) > 0; });
  if (failure_) std::rethrow_exception(failure_);
  auto node = ready_.extract(nextOut_);
  ++nextOut_;
  lock.unlock();
  consumed_.notify_all();
  return std::move(node.mapped());
}

}  // namespace seg
