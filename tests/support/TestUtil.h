#pragma once
// Shared test helpers: temp directories, tensor comparison, tiny synthetic images.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/Image.h"

namespace seg::test {

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A label volume of the given size (x, y, z) filled with 0.
LabelVolume makeLabels(int64_t x, int64_t y, int64_t z, double spacing = 1.0);
// Index into a (z, y, x) buffer.
inline int64_t at(const ImageGeometry& g, int64_t x, int64_t y, int64_t z) {
  return (z * g.size[1] + y) * g.size[0] + x;
}

// The message of the InputError `f` throws, or "<no InputError>".
std::string errorOf(const std::function<void()>& f);

// Writes `text` to `path` (creating it).
void writeText(const std::string& path, const std::string& text);
std::string readText(const std::string& path);

}  // namespace seg::test
