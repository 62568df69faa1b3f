#pragma once
#include <string>

namespace seg {
std::string versionString();     // project version, e.g. "0.1.0"
std::string itkVersionString();  // ITK the library was built against
}  // namespace seg
