#include "core/Autocast.h"

#include <ATen/autocast_mode.h>

namespace seg {

AutocastGuard::AutocastGuard(c10::DeviceType device, bool enabled, c10::ScalarType dtype)
    : device_(device),
      active_(enabled),
      previousEnabled_(at::autocast::is_autocast_enabled(device)),
      previousDtype_(at::autocast::get_autocast_dtype(device)) {
  if (!active_) return;
  at::autocast::set_autocast_enabled(device_, true);
  at::autocast::set_autocast_dtype(device_, dtype);
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  at::autocast::set_autocast_enabled(device_, previousEnabled_);
  at::autocast::set_autocast_dtype(device_, previousDtype_);
  // As torch.autocast's __exit__: the cast cache lives only while autocast is on.
  if (!previousEnabled_) at::autocast::clear_cache();
}

}  // namespace seg
