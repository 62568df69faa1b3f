#pragma once
// Whole-file writes that never leave a partial file under the target name.
#include <string>
#include <string_view>
#include <vector>

namespace seg {

// Writes `content` to a temporary file next to `path`, fsyncs it and renames it over
// `path`: readers see the old file or the whole new one, never a prefix (fsync before
// rename so a power cut cannot reorder the two). Throws InputError naming `path`.
void writeFileAtomically(const std::string& path, const std::string& content);

// Same, for content in several pieces (large buffers are written without a copy).
void writeFileAtomically(const std::string& path, const std::vector<std::string_view>& parts);

}  // namespace seg
