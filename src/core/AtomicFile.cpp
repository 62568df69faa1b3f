#include "core/AtomicFile.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/Error.h"

namespace seg {

void writeFileAtomically(const std::string& path, const std::string& content) {
  writeFileAtomically(path, std::vector<std::string_view>{content});
}

void writeFileAtomically(const std::string& path, const std::vector<std::string_view>& parts) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto fail = [&](const std::string& what) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    throw InputError("cannot write '" + path + "': " + what + ": " + reason);
  };
  errno = 0;
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("open");
  bool ok = true;
  for (const std::string_view& part : parts) {
    ok = ok && std::fwrite(part.data(), 1, part.size(), f) == part.size();
  }
  ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  if (std::fclose(f) != 0 || !ok) fail("write");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
}

}  // namespace seg
