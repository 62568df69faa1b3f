#pragma once
// Whole-file writes that never leave a partial file under the target name.
#include <string>

namespace seg {

// Writes `content` to a temporary file next to `path`, fsyncs it and renames it over
// `path`: readers see the old file or the whole new one, never a prefix (fsync before
// rename so a power cut cannot reorder the two). Throws InputError naming `path`.
void writeFileAtomically(const std::string& path, const std::string& content);

}  // namespace seg
