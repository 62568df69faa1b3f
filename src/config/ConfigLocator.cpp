#include "config/ConfigLocator.h"

#include <iterator>

#include "core/Error.h"

namespace seg {

ConfigLocator::ConfigLocator(std::string source) : source_(std::move(source)) {
  if (source_.empty()) source_ = "<config text>";
}

void ConfigLocator::addOverride(const std::string& path, const std::string& raw) {
  for (auto it = overrides_.begin(); it != overrides_.end();) {
    const bool below = it->first.size() > path.size() && it->first.compare(0, path.size(), path) == 0 &&
                       (it->first[path.size()] == '.' || it->first[path.size()] == '[');
    it = below ? overrides_.erase(it) : std::next(it);
  }
  overrides_[path] = raw;
}

std::string ConfigLocator::where(const std::string& path, const YAML::Mark& mark) const {
  // "a.b[2]" -> "a.b" -> "a": the nearest override at or above the path wins.
  std::string p = path;
  while (!p.empty()) {
    const auto it = overrides_.find(p);
    if (it != overrides_.end()) return "--set " + it->second;
    const auto cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p.resize(cut);
  }
  if (mark.is_null()) return source_;
  // YAML::Mark counts from 0; editors count from 1.
  return source_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

void ConfigLocator::fail(const std::string& path, const YAML::Mark& mark,
                         const std::string& what) const {
  std::string message = where(path, mark) + ": ";
  if (!path.empty()) message += path + ": ";
  throw ConfigError(message + what);
}

}  // namespace seg
