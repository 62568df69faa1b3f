#pragma once
// Escaping for the XML/HTML text and attributes we write (report.html, progress.svg).
#include <string>

namespace seg {

// &, <, > and " as entities; everything else unchanged (UTF-8 passes through).
std::string xmlEscape(const std::string& text);

}  // namespace seg
