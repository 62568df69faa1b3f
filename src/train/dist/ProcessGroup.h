#pragma once
// A process group over c10d: rendezvous through a TCPStore hosted by rank 0 (or by
// torchrun's agent), then Gloo on CPU or NCCL on CUDA (train/dist/CollectiveBackends.h).
// The c10d types stay in the .cpp files.
// Every collective blocks until done and throws c10::Error when a peer fails or the
// timeout passes, so a dead rank makes the others fail instead of hanging.
#include <torch/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "train/dist/LaunchEnv.h"

namespace seg::dist {

struct ProcessGroupOptions {
  std::string backend = "auto";  // auto (NCCL for CUDA devices, else Gloo) | gloo | nccl
  // Collectives: how long a silent peer may keep the others waiting.
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
  // Start-up: how long a rank waits for the store to be reachable and for every peer
  // to join. A rank that dies before it joined cannot close a connection the others
  // would notice, so only this deadline ends their wait.
  std::chrono::milliseconds rendezvousTimeout{std::chrono::seconds(45)};
};

class ProcessGroup {
 public:
  // Joins the group described by `env` (env.worldSize >= 1). `device` is where the
  // collectives' tensors live: CPU for Gloo, cuda:<local rank> for NCCL. Throws
  // InputError for a backend this build lacks or that does not fit the device.
  static std::shared_ptr<ProcessGroup> create(const LaunchEnv& env, const ProcessGroupOptions& options,
                                              torch::Device device);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& backend() const { return backend_; }
  torch::Device device() const { return device_; }

  // In-place element-wise sum over ranks; all tensors contiguous, on device().
  // Several tensors are launched together and waited for together (one collective each).
  void allReduceSum(std::vector<torch::Tensor>& tensors);
  void allReduceSum(torch::Tensor& tensor);
  void allReduceMax(torch::Tensor& tensor);
  // In-place: every rank receives `root`'s values.
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
  void barrier();
  // Collectives issued so far (for tests and the collectives-per-step figure).
  int64_t collectiveCount() const { return collectives_.load(); }
  // Wall time spent inside collectives (launch to completion, including waiting for
  // slower ranks): the most that overlapping them with computation could hide.
  double collectiveSeconds() const { return static_cast<double>(collectiveNanos_.load()) * 1e-9; }
  // Ends the group: NCCL communicators are shut down (ProcessGroupNCCL wants that
  // before exit); idempotent, also run by the destructor.
  void shutdown();

  static bool glooAvailable();
  static bool ncclAvailable();

 private:
  struct Impl;
  ProcessGroup(std::unique_ptr<Impl> impl, int rank, int size, std::string backend, torch::Device device);
  std::unique_ptr<Impl> impl_;
  int rank_;
  int size_;
  std::string backend_;
  torch::Device device_;
  std::atomic<int64_t> collectives_{0};
  std::atomic<int64_t> collectiveNanos_{0};
};

}  // namespace seg::dist
