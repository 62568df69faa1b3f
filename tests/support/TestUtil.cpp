#include "support/TestUtil.h"

#include "core/Error.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace seg::test {

TempDir::TempDir() {
  std::random_device rd;
  const auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = base / ("segtest-" + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate.string();
      return;
    }
  }
  throw std::runtime_error("TempDir: could not create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

LabelVolume makeLabels(int64_t x, int64_t y, int64_t z, double spacing) {
  LabelVolume v;
  v.geometry.size = {x, y, z};
  v.geometry.spacing = {spacing, spacing, spacing};
  v.data.assign(static_cast<size_t>(x * y * z), 0);
  return v;
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no InputError>";
}

void writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace seg::test
