#pragma once
// Autocast for a scope (LibTorch 2.4+'s per-device API: at::autocast::set_autocast_enabled /
// set_autocast_dtype), restoring the previous state after: the C++ twin of
// `with torch.autocast(device_type, dtype)`.
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

namespace seg {

class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, bool enabled, c10::ScalarType dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_;
  bool active_;
  bool previousEnabled_;
  c10::ScalarType previousDtype_;
};

}  // namespace seg
