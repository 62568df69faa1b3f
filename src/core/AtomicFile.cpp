#include "core/AtomicFile.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/Error.h"
#include "core/IoError.h"

namespace seg {

void writeFileAtomically(const std::string& path, const std::string& content) {
  writeFileAtomically(path, std::vector<std::string_view>{content});
}

void writeFileAtomically(const std::string& path, const std::vector<std::string_view>& parts) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  // Opening or renaming names the user's path (missing or read-only folder, a directory in
  // the way: InputError) unless the device failed; a failed write or flush is the device's
  // doing (IoError).
  auto fail = [&](const std::string& what, bool io) {
    const int code = errno;
    const std::string message = "cannot write '" + path + "': " + what + ": " + std::strerror(code);
    std::remove(tmp.c_str());
    if (io || isDeviceError(code)) throw IoError(message);
    throw InputError(message);
  };
  errno = 0;
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("open", false);
  bool ok = true;
  for (const std::string_view& part : parts) {
    ok = ok && std::fwrite(part.data(), 1, part.size(), f) == part.size();
  }
  ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  if (std::fclose(f) != 0 || !ok) fail("write", true);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", false);
}

}  // namespace seg
