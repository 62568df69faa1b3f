#include "core/TorchInfo.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>
#include <torch/version.h>

namespace seg {
namespace {

// CUDART encodes major*1000 + minor*10; cuDNN 9+ major*10000 + minor*100 + patch (older:
// major*1000 + minor*100 + patch).
std::string formatCudaVersion(long v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }
std::string formatCudnnVersion(long v) {
  const long major = v >= 90000 ? v / 10000 : v / 1000;
  const long rest = v >= 90000 ? v % 10000 : v % 1000;
  return std::to_string(major) + "." + std::to_string(rest / 100) + "." + std::to_string(rest % 100);
}

}  // namespace

std::string torchVersion() { return TORCH_VERSION; }

// The CUDA hooks are registered by libtorch_cuda; they answer these without a GPU.
bool torchHasCuda() { return at::globalContext().hasCUDART(); }

std::string cudaBuildVersion() {
  return torchHasCuda() ? formatCudaVersion(at::detail::getCUDAHooks().versionCUDART()) : "";
}

std::string cudnnBuildVersion() {
  if (!torchHasCuda() || !at::detail::getCUDAHooks().versionCuDNN()) return "";
  return formatCudnnVersion(at::detail::getCUDAHooks().versionCuDNN());
}

std::string cudnnLoadedVersion() {
  if (!torchHasCuda() || !at::detail::getCUDAHooks().versionCuDNN()) return "";
  return formatCudnnVersion(at::detail::getCUDAHooks().versionRuntimeCuDNN());
}

int visibleGpus() { return torchHasCuda() ? static_cast<int>(torch::cuda::device_count()) : 0; }

}  // namespace seg
