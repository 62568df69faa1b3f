#include "core/Version.h"

namespace seg {
std::string versionString() { return SEG_VERSION; }
std::string itkVersionString() { return SEG_ITK_VERSION; }
}  // namespace seg
