#include "data/CaseCache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/Log.h"

namespace seg {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'S', 'E', 'G', 'C', 'A', 'C', 'H', 'E'};
constexpr uint32_t kVersion = 1;
constexpr size_t kAlign = 64;

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Doubles as exact hex floats, so the key changes with any change of value.
std::string exact(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%a", v);
  return text;
}

std::string fileLine(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(path + ": cannot read file: " + std::strerror(errno));
  return fs::absolute(path).lexically_normal().string() + " size " + std::to_string(st.st_size) + " mtime " +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

// Keeps letters, digits, '-', '_', '.'; the hash keeps names apart anyway.
std::string safeName(const std::string& id) {
  std::string out;
  for (char c : id) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out.substr(0, 80);
}

struct Geometry {
  int64_t size[3];
  double spacing[3], origin[3], direction[9];
};

Geometry pack(const ImageGeometry& g) {
  Geometry p{};
  for (int i = 0; i < 3; ++i) p.size[i] = g.size[i], p.spacing[i] = g.spacing[i], p.origin[i] = g.origin[i];
  for (int i = 0; i < 9; ++i) p.direction[i] = g.direction[i];
  return p;
}

ImageGeometry unpack(const Geometry& p) {
  ImageGeometry g;
  for (int i = 0; i < 3; ++i) g.size[i] = p.size[i], g.spacing[i] = p.spacing[i], g.origin[i] = p.origin[i];
  for (int i = 0; i < 9; ++i) g.direction[i] = p.direction[i];
  return g;
}

struct Fixed {
  char magic[8];
  uint32_t version;
  uint32_t keyBytes;
  Geometry geometry;
  Geometry input;
  int64_t channels;
  int64_t hasLabel;
};

size_t dataOffset(size_t keyBytes) {
  const size_t header = sizeof(Fixed) + keyBytes;
  return (header + kAlign - 1) / kAlign * kAlign;
}

class Mapping {
 public:
  explicit Mapping(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      size_ = static_cast<size_t>(st.st_size);
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) data_ = static_cast<const unsigned char*>(p);
    }
    ::close(fd);
  }
  ~Mapping() {
    if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  const unsigned char* data() const { return data_; }
  size_t size() const { return data_ ? size_ : 0; }

 private:
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

CacheKey cacheKey(const std::string& dir, const CaseEntry& entry, const PreprocessOptions& options) {
  std::ostringstream names, key;
  key << "segtrain case cache v" << kVersion << "\n";
  key << "reorient " << (options.reorient ? 1 : 0) << "\n";
  key << "spacing " << exact(options.spacing[0]) << " " << exact(options.spacing[1]) << " "
      << exact(options.spacing[2]) << "\n";
  names << key.str();
  for (const auto& image : entry.images) {
    key << "image " << fileLine(image) << "\n";
    names << fs::absolute(image).lexically_normal().string() << "\n";
  }
  key << "label " << (entry.label.empty() ? std::string("-") : fileLine(entry.label)) << "\n";
  names << entry.label << "\n";
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(names.str())));
  return {(fs::path(dir) / (safeName(entry.id) + "-" + hex + ".segcache")).string(), key.str()};
}

std::optional<LoadedCase> readCachedCase(const CacheKey& key, const std::string& id) {
  const Mapping map(key.path);
  if (map.size() < sizeof(Fixed)) return std::nullopt;
  Fixed fixed;
  std::memcpy(&fixed, map.data(), sizeof fixed);
  if (std::memcmp(fixed.magic, kMagic, sizeof kMagic) != 0 || fixed.version != kVersion ||
      fixed.keyBytes != key.text.size() || sizeof(Fixed) + fixed.keyBytes > map.size() ||
      std::memcmp(map.data() + sizeof(Fixed), key.text.data(), key.text.size()) != 0) {
    return std::nullopt;
  }
  LoadedCase c;
  c.id = id;
  c.image.geometry = unpack(fixed.geometry);
  c.inputGeometry = unpack(fixed.input);
  c.image.channels = fixed.channels;
  const int64_t n = c.image.geometry.numVoxels();
  if (n <= 0 || fixed.channels <= 0) return std::nullopt;
  const size_t offset = dataOffset(fixed.keyBytes);
  const size_t imageBytes = static_cast<size_t>(n * fixed.channels) * sizeof(float);
  const size_t labelBytes = fixed.hasLabel ? static_cast<size_t>(n) : 0;
  if (map.size() != offset + imageBytes + labelBytes) return std::nullopt;
  c.image.data.resize(static_cast<size_t>(n * fixed.channels));
  std::memcpy(c.image.data.data(), map.data() + offset, imageBytes);
  if (fixed.hasLabel) {
    c.label.geometry = c.image.geometry;
    c.label.data.assign(map.data() + offset + imageBytes, map.data() + offset + imageBytes + labelBytes);
  }
  return c;
}

void writeCachedCase(const CacheKey& key, const LoadedCase& c) {
  Fixed fixed{};
  std::memcpy(fixed.magic, kMagic, sizeof kMagic);
  fixed.version = kVersion;
  fixed.keyBytes = static_cast<uint32_t>(key.text.size());
  fixed.geometry = pack(c.image.geometry);
  fixed.input = pack(c.inputGeometry);
  fixed.channels = c.image.channels;
  fixed.hasLabel = c.label.data.empty() ? 0 : 1;
  const std::string padding(dataOffset(key.text.size()) - sizeof(Fixed) - key.text.size(), '\0');
  std::error_code ec;
  fs::create_directories(fs::path(key.path).parent_path(), ec);
  if (ec) throw InputError("data.cache_dir: cannot create " + fs::path(key.path).parent_path().string() + ": " + ec.message());
  writeFileAtomically(key.path, {std::string_view(reinterpret_cast<const char*>(&fixed), sizeof fixed), key.text, padding,
                                 std::string_view(reinterpret_cast<const char*>(c.image.data.data()),
                                                  c.image.data.size() * sizeof(float)),
                                 std::string_view(reinterpret_cast<const char*>(c.label.data.data()), c.label.data.size())});
}

}  // namespace seg
