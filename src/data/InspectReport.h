#pragma once
// What `segdata inspect FILE [--json]` shows: the header (ImageInfo) and the value
// statistics of one NIfTI file, as text or as JSON.
#include <optional>
#include <string>

#include "data/NiftiIO.h"
#include "data/VolumeStats.h"

namespace seg {

struct InspectReport {
  ImageInfo info;
  std::optional<VolumeStats> stats;  // empty when the values could not be read
  std::string error;                 // why not (InputError message naming the file)
};

// Reads the header (throws InputError as readImageInfo does) and then the values. A file
// whose header is fine but whose values cannot be read (truncated data, ...) still gives a
// report: `error` says why, so the header can be shown before the tool fails.
InspectReport inspectImage(const std::string& path);

// Both end with a newline. The JSON has `size` x, y, z (x, y, z, t for a 4D file),
// `direction` as nested rows of ITK's matrix (LPS), `min`/`max`/`mean` over the finite
// values (null when there are none) and, for integer-valued data, `distinct_values`.
std::string inspectText(const InspectReport& report);
std::string inspectJson(const InspectReport& report);

}  // namespace seg
