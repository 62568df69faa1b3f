#include "core/TorchCompat.h"

#include <ATen/autocast_mode.h>
#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>
#include <torch/version.h>

#define SEG_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace seg::compat {

void setAutocast(c10::DeviceType device, bool enabled, c10::ScalarType dtype) {
#if SEG_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device, enabled);
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
  if (!enabled) at::autocast::clear_cache();
}

bool autocastEnabled(c10::DeviceType device) {
#if SEG_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CUDA ? at::autocast::is_enabled()
                                         : at::autocast::is_cpu_enabled();
#endif
}

c10::ScalarType autocastDtype(c10::DeviceType device) {
#if SEG_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                         : at::autocast::get_autocast_cpu_dtype();
#endif
}

AutocastGuard::AutocastGuard(c10::DeviceType device, bool enabled, c10::ScalarType dtype)
    : device_(device), active_(enabled), previous_(autocastEnabled(device)) {
  if (active_) setAutocast(device_, true, dtype);
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
#if SEG_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device_, previous_);
#else
  if (device_ == c10::DeviceType::CUDA) at::autocast::set_enabled(previous_);
  else at::autocast::set_cpu_enabled(previous_);
#endif
  if (!previous_) at::autocast::clear_cache();
}

std::string torchVersion() { return TORCH_VERSION; }

bool cudaAvailable() { return torch::cuda::is_available(); }

namespace {
// CUDART/cuDNN encode versions as major*1000+minor*10 (CUDA) and
// major*10000+minor*100+patch (cuDNN >= 9) or major*1000+minor*100+patch (< 9).
std::string formatCudaVersion(long v) {
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}
std::string formatCudnnVersion(long v) {
  const long major = v >= 90000 ? v / 10000 : v / 1000;
  const long rest = v >= 90000 ? v % 10000 : v % 1000;
  return std::to_string(major) + "." + std::to_string(rest / 100) + "." + std::to_string(rest % 100);
}
}  // namespace

std::string cudaVersion() {
  if (!at::hasCUDA()) return "";
  return formatCudaVersion(at::detail::getCUDAHooks().versionCUDART());
}

std::string cudnnVersion() {
  if (!at::hasCUDA() || !at::globalContext().hasCuDNN()) return "";
  return formatCudnnVersion(at::detail::getCUDAHooks().versionCuDNN());
}

}  // namespace seg::compat
