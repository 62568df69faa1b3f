#pragma once
// The one place where LibTorch 1.13 (Debian, CPU) and 2.x (CUDA builds) differ.
// Keep every version #if in TorchCompat.cpp; callers see only these functions.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <torch/version.h>

#include <string>

namespace c10d {
class ProcessGroup;
class Backend;
}  // namespace c10d

namespace seg::compat {

// c10d: LibTorch 2.0 split ProcessGroup into a dispatcher over per-device Backend
// objects; ProcessGroupGloo/NCCL derive from Backend there and from ProcessGroup in
// 1.13. Both bases declare the collectives we call (allreduce, broadcast, barrier)
// with the same signatures. (The one version #if outside TorchCompat.cpp: a type.)
#if TORCH_VERSION_MAJOR >= 2
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

// Autocast switched to set_autocast_enabled(device, bool) / set_autocast_dtype in
// LibTorch 2.4 (the per-device names were deprecated, then removed).
void setAutocast(c10::DeviceType device, bool enabled, c10::ScalarType dtype);
bool autocastEnabled(c10::DeviceType device);
c10::ScalarType autocastDtype(c10::DeviceType device);

// Enables autocast for its lifetime and restores the previous state after.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, bool enabled, c10::ScalarType dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_;
  bool active_;
  bool previous_;
};

std::string torchVersion();   // "1.13.0"
bool cudaAvailable();
std::string cudaVersion();    // "" when LibTorch has no CUDA
std::string cudnnVersion();   // "" when unavailable

}  // namespace seg::compat
