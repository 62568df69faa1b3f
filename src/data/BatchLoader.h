#pragma once
// Worker threads build batches ahead of the trainer into a bounded buffer and hand
// them out in index order, so results do not depend on the thread count.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/PatchSampler.h"

namespace seg {

class BatchLoader {
 public:
  // Batches firstIndex, firstIndex+1, ... from `sampler`; `workers` threads (0 builds
  // each batch on the caller's thread), at most `depth` batches buffered.
  BatchLoader(std::shared_ptr<const PatchSampler> sampler, int workers, int depth, uint64_t firstIndex = 0);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch in order; rethrows a worker's exception.
  Batch next();
  uint64_t position() const { return nextOut_; }  // index of the batch next() returns

 private:
  void work();
  std::shared_ptr<const PatchSampler> sampler_;
  int depth_;
  uint64_t nextOut_;
  uint64_t nextClaim_;
  bool stop_ = false;
  std::exception_ptr failure_;
  std::map<uint64_t, Batch> ready_;
  std::mutex mutex_;
  std::condition_variable produced_;
  std::condition_variable consumed_;
  std::vector<std::thread> threads_;
};

}  // namespace seg
