#include "core/Log.h"

#include <mutex>

namespace seg {

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto existing = spdlog::get(name)) return existing;
  auto base = spdlog::default_logger();
  auto created = std::make_shared<spdlog::logger>(name, base->sinks().begin(), base->sinks().end());
  created->set_level(base->level());
  created->flush_on(base->flush_level());
  spdlog::register_logger(created);
  return created;
}

}  // namespace seg
