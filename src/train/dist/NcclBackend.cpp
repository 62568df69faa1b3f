#include "train/dist/CollectiveBackends.h"

#include "core/Error.h"

#ifdef SEG_HAVE_NCCL
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <nccl.h>
#include <torch/csrc/cuda/nccl.h>
#include <torch/csrc/distributed/c10d/NCCLUtils.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace seg::dist {

#ifdef SEG_HAVE_NCCL

namespace {
std::string formatNcclVersion(uint64_t code) {
  // NCCL_VERSION(X,Y,Z): X*10000 + Y*100 + Z since 2.9 (X*1000 + Y*100 + Z before).
  const uint64_t major = code >= 10000 ? code / 10000 : code / 1000;
  const uint64_t rest = code >= 10000 ? code % 10000 : code % 1000;
  return std::to_string(major) + "." + std::to_string(rest / 100) + "." + std::to_string(rest % 100);
}
}  // namespace

bool ncclBuilt() { return true; }

c10::intrusive_ptr<c10d::Backend> makeNcclBackend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                  std::chrono::milliseconds timeout, c10::Device device) {
  c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->setDevice(device);
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
}

void shutdownNcclBackend(c10d::Backend& backend) { static_cast<c10d::ProcessGroupNCCL&>(backend).shutdown(); }

std::string ncclHeaderVersion() { return formatNcclVersion(NCCL_VERSION_CODE); }

// torch::cuda::nccl::version() is LibTorch's compile-time NCCL_MAJOR << 32 | MINOR << 16 | PATCH.
std::string ncclTorchBuildVersion() {
  const uint64_t v = torch::cuda::nccl::version();
  return std::to_string(v >> 32) + "." + std::to_string((v >> 16) & 0xffff) + "." + std::to_string(v & 0xffff);
}

// ncclGetVersion() of the loaded library; no GPU needed.
std::string ncclLibraryVersion() { return c10d::getNcclVersion(); }

#else

bool ncclBuilt() { return false; }

c10::intrusive_ptr<c10d::Backend> makeNcclBackend(const c10::intrusive_ptr<c10d::Store>&, int, int,
                                                  std::chrono::milliseconds, c10::Device) {
  throw InternalError("makeNcclBackend: this segtrain was built without NCCL");
}

void shutdownNcclBackend(c10d::Backend&) {}

std::string ncclHeaderVersion() { return ""; }
std::string ncclTorchBuildVersion() { return ""; }
std::string ncclLibraryVersion() { return ""; }

#endif

}  // namespace seg::dist
