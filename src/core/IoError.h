#pragma once
// A write that failed after its target was accepted: the disk filled up, the device
// reported an I/O error, or the finished file could not be renamed into place. The
// user's input was fine, so this is not an InputError; it is one of the failures
// core/Error.h counts as internal, and the tools say "I/O error" and exit 1.
// Opening a file in a folder the user named (missing, read-only) stays an InputError.
#include <cerrno>

#include "core/Error.h"

namespace seg {

class IoError : public InternalError {
 public:
  using InternalError::InternalError;
};

// Whether an errno names the device rather than the path: full disk or quota, a file past
// the size limit, an I/O error. A rename or open that fails with anything else (EISDIR,
// EACCES, EROFS, ENOENT, ...) is a path the user can fix: InputError.
inline bool isDeviceError(int code) { return code == ENOSPC || code == EDQUOT || code == EIO || code == EFBIG; }

}  // namespace seg
