#include "config/FieldReader.h"

#include <algorithm>

namespace seg {

void FieldReader::after(const std::string& path, Check check) {
  if (!after_.emplace(path, std::move(check)).second) {
    throw std::logic_error("FieldReader: a second check after " + path);
  }
}

void FieldReader::reached(const char* key) {
  const std::string path = pathOf(key);
  reachedPaths_.push_back(path);
  const auto it = after_.find(path);
  if (it != after_.end()) it->second(reader());
}

void FieldReader::requireAllReached() const {
  const auto wasReached = [&](const std::string& path) {
    return std::find(reachedPaths_.begin(), reachedPaths_.end(), path) != reachedPaths_.end();
  };
  for (const auto& entry : after_) {
    if (!wasReached(entry.first)) throw std::logic_error("FieldReader: no config key " + entry.first);
  }
  for (const auto& entry : each_) {
    if (!wasReached(entry.first)) throw std::logic_error("FieldReader: no config key " + entry.first);
  }
}

}  // namespace seg
