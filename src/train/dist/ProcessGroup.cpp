#include "train/dist/ProcessGroup.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include "core/Error.h"
#include "core/Log.h"
#include "train/dist/CollectiveBackends.h"

namespace seg::dist {

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  bool nccl = false;
  bool shutDown = false;
};

bool ProcessGroup::glooAvailable() { return glooBuilt(); }

bool ProcessGroup::ncclAvailable() { return ncclBuilt(); }

namespace {

// Adds the lifetime of the scope to a nanosecond counter.
class Timed {
 public:
  explicit Timed(std::atomic<int64_t>& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~Timed() {
    total_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::atomic<int64_t>& total_;
  std::chrono::steady_clock::time_point start_;
};

void waitFor(const c10::intrusive_ptr<c10d::Work>& work) {
  // wait() rethrows the failure of the collective (peer gone, timeout).
  work->wait();
}

// c10::Error's what() carries a C++ backtrace; users get the message alone.
std::string messageOf(const std::exception& e) {
  if (const auto* c10Error = dynamic_cast<const c10::Error*>(&e)) return c10Error->what_without_backtrace();
  return e.what();
}

// The group's key prefix, with every wait() capped at a deadline while the ranks are
// still joining. Gloo's full-mesh connection waits for the peers' addresses with the
// collective timeout (30 min by default), so a rank that died before publishing its
// address would keep the others there that long; PyTorch behaves the same. Lifted once
// every rank has joined.
class RendezvousStore : public c10d::PrefixStore {
 public:
  RendezvousStore(const std::string& prefix, c10::intrusive_ptr<c10d::Store> store, std::chrono::milliseconds cap)
      : c10d::PrefixStore(prefix, std::move(store)), capMs_(cap.count()) {}
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    const std::chrono::milliseconds cap{capMs_.load()};
    c10d::PrefixStore::wait(keys, cap.count() > 0 && cap < timeout ? cap : timeout);
  }
  void uncap() { capMs_ = 0; }

 private:
  std::atomic<int64_t> capMs_;
};

}  // namespace

std::shared_ptr<ProcessGroup> ProcessGroup::create(const LaunchEnv& env, const ProcessGroupOptions& options,
                                                   torch::Device device) {
  std::string backend = options.backend;
  if (backend == "auto") backend = device.is_cuda() ? "nccl" : "gloo";
  if (backend != "gloo" && backend != "nccl") {
    throw InputError("dist.backend: unknown backend '" + options.backend + "' (expected auto, gloo or nccl)");
  }
  if (backend == "nccl" && !device.is_cuda()) {
    throw InputError("dist.backend: nccl needs train.device cuda (the device resolved to " + device.str() +
                     "); use gloo on CPU");
  }
  if (backend == "gloo" && device.is_cuda()) {
    throw InputError("dist.backend: gloo with a CUDA device is not supported here; use nccl (or auto)");
  }
  if (backend == "gloo" && !glooAvailable()) {
    throw InputError("dist.backend: this segtrain was built without Gloo (the LibTorch it was built against ships "
                     "no c10d Gloo headers); multi-process CPU training is unavailable");
  }
  if (backend == "nccl" && !ncclAvailable()) {
    throw InputError("dist.backend: this segtrain was built without NCCL (needs a CUDA LibTorch 2.x with c10d NCCL)");
  }

  auto log = logger("dist");
  auto impl = std::make_unique<Impl>();
  const std::string rendezvousDeadline =
      "dist.rendezvous_timeout_s = " + std::to_string(options.rendezvousTimeout.count() / 1000) + " s";
  c10::intrusive_ptr<c10d::Store> tcpStore;  // under the prefixes; owns the client timeout
  if (env.worldSize > 1 || !env.masterAddr.empty()) {
    c10d::TCPStoreOptions storeOptions;
    storeOptions.port = static_cast<std::uint16_t>(env.masterPort);
    // Rank 0 serves the store unless torchrun's agent already does.
    storeOptions.isServer = env.rank == 0 && !env.agentStore;
    storeOptions.numWorkers = env.worldSize;
    storeOptions.waitWorkers = false;
    // The rendezvous deadline covers connecting to the store (the client retries until
    // it passes) and the backend's address exchange through it; raised to `timeout`
    // once every rank has joined.
    storeOptions.timeout = options.rendezvousTimeout;
    log->debug("rank {}: TCPStore {}:{} ({})", env.rank, env.masterAddr, env.masterPort,
               storeOptions.isServer ? "server" : "client");
    try {
      impl->store = c10::make_intrusive<c10d::TCPStore>(env.masterAddr, storeOptions);
    } catch (const std::exception& e) {
      throw InternalError("rank " + std::to_string(env.rank) + ": cannot reach the rendezvous store at " +
                          env.masterAddr + ":" + std::to_string(env.masterPort) + " (" + env.source +
                          " launch) within " + rendezvousDeadline +
                          " (did rank 0 start, or die before it served the store?): " + messageOf(e));
    }
    tcpStore = impl->store;
    if (!env.storePrefix.empty()) {
      impl->store = c10::make_intrusive<c10d::PrefixStore>(env.storePrefix, impl->store);
    }
  } else {
    throw InputError("dist: a process group needs MASTER_ADDR/MASTER_PORT (or a Slurm step)");
  }
  // Keys of this group live under one prefix, so a restart attempt never reads stale keys.
  auto rendezvousStore = c10::make_intrusive<RendezvousStore>("segtrain/", impl->store, options.rendezvousTimeout);
  impl->store = rendezvousStore;

  if (backend == "gloo") {
    try {
      impl->backend = makeGlooBackend(impl->store, env.rank, env.worldSize, options.timeout);
    } catch (const std::exception& e) {
      throw InternalError("rank " + std::to_string(env.rank) + ": not every rank joined within " + rendezvousDeadline +
                          " (a rank died or never started): " + messageOf(e));
    }
  } else {
    impl->backend = makeNcclBackend(impl->store, env.rank, env.worldSize, options.timeout, device);
    impl->nccl = true;
  }
  auto group = std::shared_ptr<ProcessGroup>(
      new ProcessGroup(std::move(impl), env.rank, env.worldSize, backend, device));
  // A first collective proves every rank is there (and connects NCCL) before training starts.
  try {
    group->barrier();
  } catch (const std::exception& e) {
    throw InternalError("rank " + std::to_string(env.rank) + ": not every rank joined the process group: " + messageOf(e));
  }
  rendezvousStore->uncap();
  tcpStore->setTimeout(options.timeout);
  log->info("rank {} of {} joined ({}, {} launch, master {}:{}, local rank {})", env.rank, env.worldSize, backend,
            env.source, env.masterAddr, env.masterPort, env.localRank);
  return group;
}

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl, int rank, int size, std::string backend, torch::Device device)
    : impl_(std::move(impl)), rank_(rank), size_(size), backend_(std::move(backend)), device_(device) {}

ProcessGroup::~ProcessGroup() {
  try {
    shutdown();
  } catch (const std::exception& e) {
    logger("dist")->warn("process group shutdown: {}", e.what());
  }
}

void ProcessGroup::allReduceSum(std::vector<torch::Tensor>& tensors) {
  Timed timed(collectiveNanos_);
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  works.reserve(tensors.size());
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    works.push_back(impl_->backend->allreduce(one, opts));
    ++collectives_;
  }
  for (auto& w : works) waitFor(w);
}

void ProcessGroup::allReduceSum(torch::Tensor& tensor) {
  std::vector<torch::Tensor> one{tensor};
  allReduceSum(one);
}

void ProcessGroup::allReduceMax(torch::Tensor& tensor) {
  Timed timed(collectiveNanos_);
  std::vector<at::Tensor> one{tensor};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::MAX;
  ++collectives_;
  waitFor(impl_->backend->allreduce(one, opts));
}

void ProcessGroup::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  Timed timed(collectiveNanos_);
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    works.push_back(impl_->backend->broadcast(one, opts));
    ++collectives_;
  }
  for (auto& w : works) waitFor(w);
}

void ProcessGroup::barrier() {
  // A one-element all-reduce rather than c10d's barrier: the same on every backend
  // (NCCL's barrier guesses the device from the rank).
  auto token = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat32).device(device_));
  allReduceSum(token);
}

void ProcessGroup::shutdown() {
  if (!impl_ || impl_->shutDown) return;
  impl_->shutDown = true;
  if (impl_->nccl) shutdownNcclBackend(*impl_->backend);
}

}  // namespace seg::dist
